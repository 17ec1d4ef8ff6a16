/**
 * What the k6 runners (smoke, soak) share: finding k6, starting the gateway as README says
 * (`npm start`, its own process group), and running a script with a JSON summary.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { readGgufFile } from "../../kernels/gguf/reader.ts";
import { randomLoraAdapter } from "../../kernels/lora/random.ts";
import { writeLoraAdapter } from "../../kernels/lora/write.ts";
import { configFromGguf } from "../../kernels/transformer/gguf-model.ts";

/** `K6` (a path), else `k6` on PATH; undefined when neither runs. */
export function findK6(): string | undefined {
  for (const candidate of [process.env.K6, "k6"]) {
    if (candidate === undefined || candidate === "") continue;
    if (spawnSync(candidate, ["version"], { stdio: "ignore" }).status === 0) return candidate;
  }
  return undefined;
}

export interface RunningGateway {
  url: string;
  process: ChildProcess;
  /** SIGTERM to `npm start`'s process; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** `npm start` with `environment` on a free port; resolves once it logs "ready" (so LOG_LEVEL must keep info). Every stdout line goes to `onLine`. */
export async function startGateway(environment: Record<string, string>, onLine: (line: string) => void = () => undefined): Promise<RunningGateway> {
  const child = spawn("npm", ["start"], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", ...environment },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let url = "";
  await new Promise<void>((resolve) => {
    const reader = createInterface({ input: child.stdout! });
    reader.on("line", (line) => {
      onLine(line);
      if (!line.startsWith("{")) return;
      const entry = JSON.parse(line) as { msg: string; url?: string };
      if (entry.msg === "listening") url = entry.url!;
      if (entry.msg === "ready") resolve();
    });
    reader.once("close", () => resolve());
  });
  if (url === "") throw new Error("the gateway exited before it was ready");
  return {
    url,
    process: child,
    stop: async () => {
      child.kill("SIGTERM");
      return exit;
    },
  };
}

/** A directory holding random adapters for the demo target (a.gguf, b.gguf, c.gguf), for the mixed-adapter script. */
export function writeLoadtestAdapters(targetModel: string): string {
  const dir = mkdtempSync(join(tmpdir(), "loadtest-adapters-"));
  const config = configFromGguf(readGgufFile(targetModel));
  ["a", "b", "c"].forEach((name, i) => writeLoraAdapter(join(dir, `${name}.gguf`), randomLoraAdapter(config, { rank: 8, seed: 100 + i })));
  return dir;
}

/** k6's --summary-export: trends as {avg, min, med, max, p(90), p(95)}, rates and counters as {value, ...}. */
export interface K6Summary {
  metrics: Record<string, Record<string, number>>;
}

export interface K6Run {
  exitCode: number | null;
  summary: K6Summary | undefined;
}

/** Runs one script to completion; k6's own output goes to this process's stderr. */
export async function runK6(k6: string, script: string, options: { env: Record<string, string>; args?: string[] }): Promise<K6Run> {
  const summaryPath = join(mkdtempSync(join(tmpdir(), "k6-summary-")), "summary.json");
  const env = Object.entries(options.env).flatMap(([name, value]) => ["-e", `${name}=${value}`]);
  const child = spawn(k6, ["run", "--quiet", "--no-usage-report", "--summary-export", summaryPath, ...env, ...(options.args ?? []), script], { stdio: ["ignore", "inherit", "inherit"] });
  const exitCode = await new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let summary: K6Summary | undefined;
  try {
    summary = JSON.parse(readFileSync(summaryPath, "utf8")) as K6Summary;
  } catch {
    summary = undefined;
  }
  return { exitCode, summary };
}
