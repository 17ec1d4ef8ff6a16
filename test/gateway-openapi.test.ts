import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conforms, conformsTo, matchesSchema, openapi as document } from "./openapi-validator.ts";

async function sseEvents(response: Response): Promise<unknown[]> {
  const text = await response.text();
  const events = text.split("\n\n").filter((event) => event.startsWith("data: ")).map((event) => event.slice("data: ".length));
  assert.equal(events.at(-1), "[DONE]");
  return events.slice(0, -1).map((event) => JSON.parse(event));
}

let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway({ MAX_BODY_BYTES: "2048" });
});
after(async () => {
  await gateway.close();
});

describe("real responses match openapi.yaml", () => {
  it("is OpenAPI 3.1 and documents every route the gateway serves", async () => {
    assert.equal(document.openapi, "3.1.0");
    for (const path of ["/v1/completions", "/v1/chat/completions", "/v1/embeddings", "/v1/rerank", "/rerank", "/v2/rerank", "/v1/load_lora_adapter", "/v1/unload_lora_adapter", "/v1/models", "/v1/models/{model}", "/health", "/ready", "/metrics", "/openapi.yaml", "/docs"]) {
      assert.ok(document.paths[path], path);
    }
    const served = await (await fetch(`${gateway.url}/openapi.yaml`)).text();
    assert.equal(served, readFileSync("openapi.yaml", "utf8"));
    const page = await (await fetch(`${gateway.url}/docs`)).text();
    for (const path of Object.keys(document.paths)) assert.ok(page.includes(path), `docs page lists ${path}`);
  });

  it("completions, with logprobs and n > 1", async () => {
    const request = { model: "target", prompt: "Hello", max_tokens: 4, n: 2, logprobs: 2, temperature: 0 };
    conformsTo("CompletionRequest", request);
    await conforms("/v1/completions", "post", await postJson(`${gateway.url}/v1/completions`, request));
  });

  it("completion chunks, usage chunk included", async () => {
    const response = await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: "Hello", max_tokens: 4, stream: true, stream_options: { include_usage: true } });
    assert.equal(response.status, 200);
    const chunks = await sseEvents(response);
    for (const chunk of chunks) conformsTo("CompletionChunk", chunk);
  });

  it("chat, with logprobs", async () => {
    const request = { model: "target", messages: [{ role: "user", content: "Hi" }], max_tokens: 4, logprobs: true, top_logprobs: 2 };
    conformsTo("ChatCompletionRequest", request);
    await conforms("/v1/chat/completions", "post", await postJson(`${gateway.url}/v1/chat/completions`, request));
  });

  it("chat chunks", async () => {
    const response = await postJson(`${gateway.url}/v1/chat/completions`, { model: "target", messages: [{ role: "user", content: "Hi" }], max_tokens: 4, n: 2, stream: true, stream_options: { include_usage: true } });
    for (const chunk of await sseEvents(response)) conformsTo("ChatCompletionChunk", chunk);
  });

  it("models, health and ready", async () => {
    await conforms("/v1/models", "get", await fetch(`${gateway.url}/v1/models`));
    await conforms("/v1/models/{model}", "get", await fetch(`${gateway.url}/v1/models/target`));
    await conforms("/v1/models/{model}", "get", await fetch(`${gateway.url}/v1/models/absent`), 404);
    await conforms("/health", "get", await fetch(`${gateway.url}/health`));
    await conforms("/ready", "get", await fetch(`${gateway.url}/ready`));
  });

  it("errors: 400, 404, 413", async () => {
    const bad = { model: "target", prompt: "Hello", surprise: 1 };
    assert.equal(matchesSchema("CompletionRequest", bad).valid, false, "the document refuses unknown fields too");
    await conforms("/v1/completions", "post", await postJson(`${gateway.url}/v1/completions`, bad), 400);
    await conforms("/v1/completions", "post", await postJson(`${gateway.url}/v1/completions`, { model: "absent", prompt: "Hello" }), 404);
    await conforms("/v1/chat/completions", "post", await postJson(`${gateway.url}/v1/chat/completions`, { model: "target", messages: [{ role: "user", content: "x".repeat(4096) }] }), 413);
  });
});
