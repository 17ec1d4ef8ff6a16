import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { modelPath, postJson } from "./gateway-harness.ts";
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

  it("cuts in-flight requests at the deadline and still exits 0", async () => {
    const gateway = await spawnTestGateway({ SHUTDOWN_DEADLINE_MS: "0" });
    const inFlight = await postJson(`${gateway.url}/v1/completions`, { ...streamRequest, max_tokens: 480 });
    const reader = inFlight.body!.getReader();
    await reader.read();
    gateway.process.kill("SIGTERM");
    let text = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
    } catch {
      // The connection closing under us is the expected outcome.
    }
    assert.doesNotMatch(text, /"finish_reason":"length"/);
    assert.equal(await gateway.exit, 0);
  });
});
