/**
 * README's run command is `npm start`; a supervisor that stops it signals that process. npm
 * forwards SIGTERM and SIGINT to its child, which must then be the gateway itself (not a shell
 * or a tsx launcher that would swallow the signal and leave the gateway orphaned and serving).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { modelPath } from "./gateway-harness.ts";
import { spawnGateway } from "./gateway-process.ts";

async function answers(url: string): Promise<boolean> {
  return fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) }).then(() => true, () => false);
}

/** Resolves with the exit code, or "timeout" after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)))]).finally(() => clearTimeout(timer));
}

describe("npm start and signals", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} to the npm start process drains the gateway and exits 0`, async () => {
      const gateway = await spawnGateway(
        { TARGET_MODEL: modelPath("target"), TARGET_MODEL_ID: "target", DRAFT_MODEL: modelPath("draft"), SEQUENCES: "2", SPECULATION: "off" },
        { viaNpm: true },
      );
      try {
        assert.ok(await answers(gateway.url));
        gateway.process.kill(signal);
        assert.equal(await within(gateway.exit, 15_000), 0, "npm start exits 0");
        assert.equal(await answers(gateway.url), false, "nothing serves on the port any more");
        const messages = gateway.log().map((entry) => entry.msg);
        assert.ok(messages.includes("draining") && messages.includes("stopped"), messages.join(", "));
      } finally {
        // Whatever a failed signal left behind (an orphaned gateway) goes with its process group.
        try {
          process.kill(-gateway.process.pid!, "SIGKILL");
        } catch {
          // Already gone: the expected case.
        }
      }
    });
  }
});
