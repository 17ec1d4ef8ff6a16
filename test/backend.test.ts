import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";

/** Each backend choice is per process, so each case runs in a child process. */
function chooseBackend(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const script = `const { initBackend, tf } = await import("./kernels/tfjs/backend.ts");
    const name = await initBackend((m) => console.log(m));
    console.log("sum", tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]);`;
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: child.status, stdout: child.stdout, stderr: child.stderr };
}

describe("tfjs backend selection", () => {
  it("falls back past the optional GPU package to wasm and logs the choice", () => {
    const result = chooseBackend({ TFJS_BACKEND: "" });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /tfjs backend: (tensorflow|wasm)/);
    assert.match(result.stdout, /sum 6/);
  });
  it("TFJS_BACKEND=cpu forces the pure-JS backend", () => {
    const result = chooseBackend({ TFJS_BACKEND: "cpu" });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /tfjs backend: cpu/);
  });
  it("an unknown TFJS_BACKEND is refused with a clear error", () => {
    const result = chooseBackend({ TFJS_BACKEND: "tpu" });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /TFJS_BACKEND must be gpu, wasm or cpu, got tpu/);
  });
});
