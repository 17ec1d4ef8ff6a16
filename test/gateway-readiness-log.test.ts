/** /ready's 503 while models load is its designed answer: logged at info, not error (orchestrators poll it). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../src/config/config.ts";
import { createLogger } from "../src/logging/logger.ts";
import { startServer } from "../src/server.ts";
import { modelPath } from "./gateway-harness.ts";

describe("start-up log", () => {
  it("logs /ready 503 (not_ready) at info and other routes' not_ready at warn; nothing at error", async () => {
    const lines: string[] = [];
    const config = loadConfig({ HOST: "127.0.0.1", PORT: "0", TARGET_MODEL: modelPath("target"), TARGET_MODEL_ID: "target", DRAFT_MODEL: modelPath("draft"), SEQUENCES: "2", SPECULATION: "off", LOG_LEVEL: "info" });
    const server = await startServer(config, createLogger(config.logLevel, { write: (line: string) => void lines.push(line) }));
    try {
      const ready = await fetch(`${server.url}/ready`, { headers: { "x-request-id": "probe-while-loading" } });
      const model = await fetch(`${server.url}/v1/models/target`, { headers: { "x-request-id": "model-while-loading" } });
      assert.equal(ready.status, 503, "the probe came after the models loaded; the test needs it before");
      assert.equal(model.status, 503);
      await server.loaded;
      assert.equal((await fetch(`${server.url}/ready`)).status, 200);
    } finally {
      await server.shutdown(1_000);
    }
    const entries = lines.map((line) => JSON.parse(line) as { level: number; request_id?: string; status?: number });
    assert.equal(entries.find((entry) => entry.request_id === "probe-while-loading")?.level, 30);
    assert.equal(entries.find((entry) => entry.request_id === "model-while-loading")?.level, 40);
    assert.deepEqual(entries.filter((entry) => entry.level >= 50), []);
  });
});
