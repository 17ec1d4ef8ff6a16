import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { modelPath, startTestGateway, type TestGateway } from "./gateway-harness.ts";

const template = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

let gateway: TestGateway;
before(async () => {
  const templatePath = join(mkdtempSync(join(tmpdir(), "gateway-template-")), "chat.jinja");
  writeFileSync(templatePath, template);
  gateway = await startTestGateway({ MODELS: `small=${modelPath("draft")}`, EMBEDDING_MODELS: `vectors=${modelPath("draft")}`, CHAT_TEMPLATE: templatePath });
});
after(async () => {
  await gateway.close();
});

describe("several models and chat templates", () => {
  it("serves each configured model under its own id", async () => {
    const models = await gateway.client.models.list();
    assert.deepEqual(models.data.map((model) => model.id), ["target", "small", "vectors", "bm25"]);
    const ask = (model: string) => gateway.client.completions.create({ model, prompt: "Once upon a time", max_tokens: 4, temperature: 0, logprobs: 0 });
    const [target, small] = await Promise.all([ask("target"), ask("small")]);
    assert.equal(small.model, "small");
    // A good draft may pick the target's tokens; its probabilities still differ.
    assert.notDeepEqual(target.choices[0]!.logprobs!.token_logprobs, small.choices[0]!.logprobs!.token_logprobs, "two different networks answer differently");
  });

  it("renders chat through a Jinja template, exactly as the equivalent completion", async () => {
    const messages = [{ role: "system" as const, content: "Be kind." }, { role: "user" as const, content: "Hi" }, { role: "assistant" as const, content: "Hello!" }, { role: "user" as const, content: "Again" }];
    const chat = await gateway.client.chat.completions.create({ model: "target", messages, max_tokens: 8, temperature: 0 });
    const rendered = "<|system|>Be kind.\n<|user|>Hi\n<|assistant|>Hello!\n<|user|>Again\n<|assistant|>";
    const completion = await gateway.client.completions.create({ model: "target", prompt: rendered, max_tokens: 8, temperature: 0 });
    assert.equal(chat.usage!.prompt_tokens, completion.usage!.prompt_tokens);
    assert.equal(chat.choices[0]!.message.content, completion.choices[0]!.text);
  });

  it("builds one chat renderer per model and keeps it across requests", async () => {
    const model = gateway.server.gateway.engine!.get("target")!;
    const renderer = model.chatRenderer;
    const wrapper = (renderer as unknown as { wrapper: object }).wrapper;
    assert.ok(wrapper !== undefined, "the configured template gives a Jinja wrapper");
    await gateway.client.chat.completions.create({ model: "target", messages: [{ role: "user", content: "Once more" }], max_tokens: 2 });
    assert.equal(model.chatRenderer, renderer);
    assert.equal((model.chatRenderer as unknown as { wrapper: object }).wrapper, wrapper);
  });

  it("lists every model with its kind", async () => {
    const listed = await (await fetch(`${gateway.url}/v1/models`)).json() as { data: { id: string; kind: string }[] };
    assert.deepEqual(listed.data.map((model) => [model.id, model.kind]), [["target", "generative"], ["small", "generative"], ["vectors", "embedding"], ["bm25", "ranking"]]);
  });

  it("embeds through the openai SDK, as floats and as base64, and keeps kinds apart", async () => {
    const floats = await gateway.client.embeddings.create({ model: "vectors", input: ["a president", "a whale"], encoding_format: "float" });
    assert.equal(floats.data.length, 2);
    const [first, second] = floats.data.map((item) => item.embedding);
    assert.ok(first!.length > 8 && first!.length === second!.length, `dimensions ${first!.length}, ${second!.length}`);
    assert.notDeepEqual(first, second);
    assert.ok(floats.usage.prompt_tokens >= 2, `prompt_tokens ${floats.usage.prompt_tokens}`);
    const encoded = await (await fetch(`${gateway.url}/v1/embeddings`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "vectors", input: "a president", encoding_format: "base64" }) })).json() as { data: { embedding: string }[] };
    const decoded = new Float32Array(Uint8Array.from(Buffer.from(encoded.data[0]!.embedding, "base64")).buffer);
    assert.equal(decoded.length, first!.length);
    decoded.forEach((value, i) => assert.ok(Math.abs(value - first![i]!) < 1e-5));
    await assert.rejects(gateway.client.embeddings.create({ model: "target", input: "x" }), (error: { status: number }) => error.status === 404);
    await assert.rejects(gateway.client.completions.create({ model: "vectors", prompt: "x", max_tokens: 1 }), (error: { status: number }) => error.status === 404);
    await assert.rejects(gateway.client.embeddings.create({ model: "vectors", input: "x", dimensions: 3 }), (error: { status: number }) => error.status === 400);
  });
});
