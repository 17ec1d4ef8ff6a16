import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conformsAsError } from "./openapi-validator.ts";

let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway({ MAX_BODY_BYTES: "4096", MAX_TOKENS_BUDGET: "256" });
});
after(async () => {
  await gateway.close();
});

/** Checks the status, the x-request-id header and the OpenAI error shape as openapi.yaml documents it. */
async function expectError(response: Response, status: number, param?: string | null, code?: string | null): Promise<void> {
  assert.equal(response.status, status);
  assert.ok(response.headers.get("x-request-id"));
  const body = await conformsAsError(response);
  if (param !== undefined) assert.equal(body.error.param, param);
  if (code !== undefined) assert.equal(body.error.code, code);
}

const completions = () => `${gateway.url}/v1/completions`;
const raw = (body: BodyInit, headers: Record<string, string> = { "content-type": "application/json" }) =>
  fetch(completions(), { method: "POST", headers, body });

describe("bad input gets the right status and an OpenAI-shaped error", () => {
  it("malformed JSON is a 400", async () => {
    await expectError(await raw('{"model": "target", "prompt": '), 400, null, "invalid_json");
  });

  it("a body that is not an object is a 400", async () => {
    await expectError(await raw("[1,2]"), 400);
  });

  it("invalid UTF-8 is a 400", async () => {
    const bytes = Buffer.concat([Buffer.from('{"model":"target","prompt":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    await expectError(await raw(bytes), 400, null, "invalid_encoding");
  });

  it("a body over the limit is a 413, declared or not", async () => {
    await expectError(await postJson(completions(), { model: "target", prompt: "x".repeat(10_000) }), 413);
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`{"model":"target","prompt":"${"y".repeat(10_000)}"}`));
        controller.close();
      },
    });
    await expectError(await fetch(completions(), { method: "POST", headers: { "content-type": "application/json" }, body: chunked, duplex: "half" } as RequestInit), 413);
  });

  it("wrong types name the parameter", async () => {
    await expectError(await postJson(completions(), { model: "target", prompt: "hi", max_tokens: "ten" }), 400, "max_tokens");
    await expectError(await postJson(completions(), { model: "target", prompt: "hi", temperature: 3 }), 400, "temperature");
    await expectError(await postJson(completions(), { model: "target", prompt: "hi", stop: ["a", "b", "c", "d", "e"] }), 400, "stop");
    await expectError(await postJson(`${gateway.url}/v1/chat/completions`, { model: "target", messages: [{ role: "user", content: 5 }] }), 400, "messages[0].content");
  });

  it("unknown and unsupported fields are refused by name", async () => {
    await expectError(await postJson(completions(), { model: "target", prompt: "hi", frobnicate: true }), 400, "frobnicate");
    await expectError(await postJson(`${gateway.url}/v1/chat/completions`, { model: "target", messages: [{ role: "user", content: "hi" }], web_search_options: {} }), 400, "web_search_options");
    await expectError(await postJson(completions(), { model: "target", prompt: "hi", suffix: "end" }), 400, "suffix");
  });

  it("combinations we cannot honour are refused by name", async () => {
    await expectError(await postJson(completions(), { model: "target", prompt: "hi", n: 1, best_of: 2, stream: true }), 400, "best_of");
    await expectError(await postJson(completions(), { model: "target", prompt: "hi", n: 3, best_of: 2 }), 400, "best_of");
    await expectError(await postJson(completions(), { model: "target", prompt: "hi", max_tokens: 0 }), 400, "max_tokens");
    await expectError(await postJson(`${gateway.url}/v1/chat/completions`, { model: "target", messages: [{ role: "user", content: "hi" }], top_logprobs: 2 }), 400, "top_logprobs");
    await expectError(await postJson(completions(), { model: "target", prompt: [99999] }), 400, "prompt");
    await expectError(await postJson(completions(), { model: "target", prompt: "hi", logit_bias: { "99999": 1 } }), 400, "logit_bias");
  });

  it("an unknown model is a 404 through the SDK", async () => {
    await assert.rejects(gateway.client.completions.create({ model: "nope", prompt: "hi" }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.NotFoundError);
      assert.equal(error.code, "model_not_found");
      return true;
    });
  });

  it("max_tokens beyond the context is context_length_exceeded", async () => {
    await assert.rejects(gateway.client.completions.create({ model: "target", prompt: "hi", max_tokens: 100_000 }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.code, "context_length_exceeded");
      assert.equal(error.param, "max_tokens");
      return true;
    });
  });

  it("a prompt longer than the context is context_length_exceeded", async () => {
    const tokens = Array.from({ length: 600 }, () => 100);
    await expectError(await postJson(completions(), { model: "target", prompt: tokens, max_tokens: 1 }), 400, "prompt", "context_length_exceeded");
  });

  it("n x max_tokens beyond the budget is a 400", async () => {
    await assert.rejects(gateway.client.completions.create({ model: "target", prompt: "hi", n: 4, max_tokens: 100 }), (error: unknown) => {
      assert.ok(error instanceof OpenAI.BadRequestError);
      assert.equal(error.code, "token_budget_exceeded");
      return true;
    });
  });

  it("n beyond the model's sequences is a 400", async () => {
    await expectError(await postJson(completions(), { model: "target", prompt: "hi", n: 5, max_tokens: 1 }), 400, "n");
  });

  it("an unknown route is a 404 in the same shape", async () => {
    await expectError(await fetch(`${gateway.url}/v1/nothing`), 404);
  });
});

describe("authentication", () => {
  let secured: TestGateway;
  before(async () => {
    secured = await startTestGateway({ API_KEYS: "sk-one,sk-two", ADMIN_API_KEYS: "sk-admin" });
  });
  after(async () => {
    await secured.close();
  });

  it("rejects a missing or wrong key with 401 on every API route", async () => {
    for (const path of ["/v1/models", "/openapi.yaml", "/docs"]) {
      await expectError(await fetch(`${secured.url}${path}`), 401, null, "invalid_api_key");
      await expectError(await fetch(`${secured.url}${path}`, { headers: { authorization: "Bearer sk-on" } }), 401);
    }
    const wrong = new OpenAI({ baseURL: `${secured.url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
    await assert.rejects(wrong.completions.create({ model: "target", prompt: "hi", max_tokens: 1 }), OpenAI.AuthenticationError);
  });

  it("accepts every configured key, admin keys included", async () => {
    for (const key of ["sk-one", "sk-two", "sk-admin"]) {
      const client = new OpenAI({ baseURL: `${secured.url}/v1`, apiKey: key, maxRetries: 0 });
      const completion = await client.completions.create({ model: "target", prompt: "hi", max_tokens: 1 });
      assert.equal(completion.choices.length, 1);
    }
  });

  it("leaves /health, /ready and (by default) /metrics open", async () => {
    for (const path of ["/health", "/ready", "/metrics"]) assert.equal((await fetch(`${secured.url}${path}`)).status, 200, path);
  });
});
