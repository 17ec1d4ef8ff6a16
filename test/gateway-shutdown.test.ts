import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { modelPath, postJson, startTestGateway } from "./gateway-harness.ts";
import { spawnGateway, type GatewayProcess } from "./gateway-process.ts";
import { conformsAsError } from "./openapi-validator.ts";

function spawnTestGateway(environment: Record<string, string>): Promise<GatewayProcess> {
  return spawnGateway({ TARGET_MODEL: modelPath("target"), TARGET_MODEL_ID: "target", DRAFT_MODEL: modelPath("draft"), SEQUENCES: "2", ...environment });
}

async function until(check: () => Promise<boolean>, attempts = 200): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

const streamRequest = { model: "target", prompt: "Once upon a time", max_tokens: 300, temperature: 0, ignore_eos: true, stream: true };

describe("SIGTERM", () => {
  it("turns /ready 503, refuses new requests, lets in-flight ones finish, exits 0", async () => {
    const gateway = await spawnTestGateway({ SHUTDOWN_DEADLINE_MS: "60000" });
    assert.equal((await fetch(`${gateway.url}/ready`)).status, 200);
    const inFlight = await postJson(`${gateway.url}/v1/completions`, streamRequest);
    const reader = inFlight.body!.getReader();
    await reader.read();
    gateway.process.kill("SIGTERM");
    assert.ok(await until(async () => (await fetch(`${gateway.url}/ready`)).status === 503));
    const refused = await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: "hi", max_tokens: 1 });
    assert.equal(refused.status, 503);
    assert.equal((await conformsAsError(refused)).error.code, "shutting_down");
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.match(rest, /"finish_reason":"length"/);
    assert.ok(rest.trimEnd().endsWith("data: [DONE]"));
    assert.equal(await gateway.exit, 0);
  });

  it("cuts in-flight streams at the deadline with a final error event and [DONE], logs 503, exits 0", async () => {
    const gateway = await spawnTestGateway({ SHUTDOWN_DEADLINE_MS: "0" });
    const inFlight = await postJson(`${gateway.url}/v1/completions`, { ...streamRequest, max_tokens: 480 }, { "x-request-id": "cut-at-deadline" });
    const reader = inFlight.body!.getReader();
    await reader.read();
    gateway.process.kill("SIGTERM");
    const text = await readRest(reader);
    assert.doesNotMatch(text, /"finish_reason":"length"/);
    const events = text.trimEnd().split("\n\n");
    assert.equal(events.at(-1), "data: [DONE]");
    const last = JSON.parse(events.at(-2)!.slice("data: ".length)) as { error?: { code: string } };
    assert.equal(last.error?.code, "shutting_down");
    assert.equal(await gateway.exit, 0);
    const line = gateway.log().find((entry) => entry.request_id === "cut-at-deadline");
    assert.equal(line?.status, 503, JSON.stringify(line));
  });
});

describe("REQUEST_TIMEOUT_MS during a stream", () => {
  it("ends the stream with a request_timeout event and [DONE], and logs 504", async () => {
    const lines: string[] = [];
    const gateway = await startTestGateway({ REQUEST_TIMEOUT_MS: "500", LOG_LEVEL: "info" }, { logLines: lines });
    try {
      const response = await postJson(`${gateway.url}/v1/completions`, { ...streamRequest, max_tokens: 500, prompt: "x" }, { "x-request-id": "timed-out-stream" });
      assert.equal(response.status, 200);
      const events = (await response.text()).trimEnd().split("\n\n");
      assert.equal(events.at(-1), "data: [DONE]");
      assert.equal((JSON.parse(events.at(-2)!.slice("data: ".length)) as { error?: { code: string } }).error?.code, "request_timeout");
    } finally {
      await gateway.close();
    }
    const line = lines.map((text) => JSON.parse(text) as { request_id?: string; status?: number }).find((entry) => entry.request_id === "timed-out-stream");
    assert.equal(line?.status, 504, JSON.stringify(line));
  });
});

async function readRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } catch {
    // A connection closed under us shows as a text without [DONE].
  }
  return text;
}
