import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { metric, postJson, settle, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conformsAsError } from "./openapi-validator.ts";

const longRequest = { model: "target", prompt: "Once upon a time", max_tokens: 480, temperature: 0, ignore_eos: true };

describe("sequences are freed after cancelled and failed requests", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startTestGateway({ SEQUENCES: "2", MAX_QUEUE: "1" });
  });
  after(async () => {
    await gateway.close();
  });

  const active = () => metric(gateway.url, "num_sequences_active");
  const generated = () => metric(gateway.url, "generation_tokens_total");

  it("a streaming client that disconnects cancels its generation", async () => {
    const before = await generated();
    const response = await postJson(`${gateway.url}/v1/completions`, { ...longRequest, stream: true });
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    assert.equal(await settle(active, 0), 0);
    // Had generation run on, the sequence would only free after all 480 tokens.
    assert.ok((await generated()) - before < longRequest.max_tokens);
  });

  it("a non-streaming client that disconnects cancels its generation, n > 1 included", async () => {
    const before = await generated();
    const controller = new AbortController();
    const pending = fetch(`${gateway.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...longRequest, n: 2 }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    assert.equal(await settle(active, 2), 2);
    controller.abort();
    assert.ok((await pending) instanceof Error);
    assert.equal(await settle(active, 0), 0);
    assert.ok((await generated()) - before < 2 * longRequest.max_tokens);
  });

  it("a request whose logit_bias bans every token is refused and holds nothing", async () => {
    const banAll = Object.fromEntries(Array.from({ length: 2048 }, (_, token) => [String(token), -100]));
    const response = await postJson(`${gateway.url}/v1/completions`, { ...longRequest, n: 2, logit_bias: banAll });
    assert.equal(response.status, 400);
    assert.equal((await conformsAsError(response)).error.param, "logit_bias");
    assert.equal(await settle(active, 0), 0);
  });

  it("overload answers 429 with Retry-After and the server carries on", async () => {
    const responses = await Promise.all(Array.from({ length: 6 }, () => postJson(`${gateway.url}/v1/completions`, { ...longRequest, max_tokens: 120, n: 2 })));
    const statuses = responses.map((response) => response.status).sort();
    // Two sequences: one request runs, one waits in the queue of one, the rest are refused.
    assert.deepEqual(statuses, [200, 200, 429, 429, 429, 429]);
    for (const response of responses.filter((r) => r.status === 429)) {
      assert.equal(response.headers.get("retry-after"), "1");
      const body = await conformsAsError(response);
      assert.equal(body.error.code, "rate_limit_exceeded");
    }
    assert.equal((await fetch(`${gateway.url}/health`)).status, 200);
    assert.equal(await settle(active, 0), 0);
  });

  it("the SDK sees overload as RateLimitError", async () => {
    const results = await Promise.allSettled(Array.from({ length: 4 }, () =>
      gateway.client.completions.create({ ...longRequest, max_tokens: 60, n: 2 } as never)));
    const refused = results.filter((result) => result.status === "rejected");
    assert.equal(refused.length, 2);
    for (const result of refused) assert.ok((result as PromiseRejectedResult).reason instanceof OpenAI.RateLimitError);
    assert.equal(await settle(active, 0), 0);
  });
});

describe("per-request timeout", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startTestGateway({ SEQUENCES: "1", REQUEST_TIMEOUT_MS: "100" });
  });
  after(async () => {
    await gateway.close();
  });

  it("a request past its deadline is a 504 and frees its sequence", async () => {
    const response = await postJson(`${gateway.url}/v1/completions`, longRequest);
    assert.equal(response.status, 504);
    const body = await conformsAsError(response);
    assert.equal(body.error.code, "request_timeout");
    assert.equal(await settle(() => metric(gateway.url, "num_sequences_active"), 0), 0);
  });

  it("a stream past its deadline ends with an error event", async () => {
    const stream = await gateway.client.completions.create({ ...longRequest, stream: true } as never) as unknown as AsyncIterable<unknown>;
    await assert.rejects(async () => {
      for await (const chunk of stream) void chunk;
    }, (error: unknown) => error instanceof OpenAI.APIError);
    assert.equal(await settle(() => metric(gateway.url, "num_sequences_active"), 0), 0);
  });
});
