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
  gateway = await startTestGateway({ MODELS: `small=${modelPath("draft")}`, CHAT_TEMPLATE: templatePath });
});
after(async () => {
  await gateway.close();
});

describe("several models and chat templates", () => {
  it("serves each configured model under its own id", async () => {
    const models = await gateway.client.models.list();
    assert.deepEqual(models.data.map((model) => model.id), ["target", "small"]);
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
});
