import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestGateway, type TestGateway } from "./gateway-harness.ts";

let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway();
});
after(async () => {
  await gateway.close();
});

const prompt = "Once upon a time";

describe("the official openai SDK against the gateway", () => {
  it("lists the served models", async () => {
    const models = await gateway.client.models.list();
    assert.deepEqual(models.data.map((model) => model.id), ["target", "bm25"]);
    assert.equal(models.data[0]!.object, "model");
    const one = await gateway.client.models.retrieve("target");
    assert.equal(one.id, "target");
  });

  it("completes a prompt with usage that adds up", async () => {
    const completion = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 8, temperature: 0, ignore_eos: true } as never);
    assert.equal(completion.object, "text_completion");
    assert.equal(completion.choices.length, 1);
    assert.equal(completion.choices[0]!.finish_reason, "length");
    assert.ok(completion.choices[0]!.text.length > 0);
    assert.equal(completion.usage!.completion_tokens, 8);
    assert.equal(completion.usage!.total_tokens, completion.usage!.prompt_tokens + 8);
  });

  it("is deterministic when greedy", async () => {
    const first = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 12, temperature: 0 });
    const second = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 12, temperature: 0 });
    assert.equal(first.choices[0]!.text, second.choices[0]!.text);
  });

  it("reproduces sampled output for the same seed and differs for another", async () => {
    const ask = (seed: number) => gateway.client.completions.create({ model: "target", prompt, max_tokens: 16, temperature: 1, seed, ignore_eos: true } as never);
    // One after another: llama.cpp's arithmetic depends on what shares a batch, so reproducibility
    // is promised for the same seed, configuration and batch composition (as vLLM and OpenAI do).
    const a = await ask(7);
    const b = await ask(7);
    const c = await ask(8);
    assert.equal(a.choices[0]!.text, b.choices[0]!.text);
    assert.notEqual(a.choices[0]!.text, c.choices[0]!.text);
  });

  it("returns n choices from parallel sequences", async () => {
    const completion = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 8, n: 3, temperature: 1, seed: 1 });
    assert.deepEqual(completion.choices.map((choice) => choice.index), [0, 1, 2]);
    assert.ok(new Set(completion.choices.map((choice) => choice.text)).size > 1, "independent samples differ");
  });

  it("numbers choices per prompt when given several prompts", async () => {
    const completion = await gateway.client.completions.create({ model: "target", prompt: ["Hello", "The end"], max_tokens: 4, n: 2, temperature: 0 });
    assert.deepEqual(completion.choices.map((choice) => choice.index), [0, 1, 2, 3]);
    assert.equal(completion.choices[0]!.text, completion.choices[1]!.text, "greedy choices of one prompt agree");
  });

  it("generates from an empty prompt (the BOS token)", async () => {
    const completion = await gateway.client.completions.create({ model: "target", prompt: "", max_tokens: 3, temperature: 0, ignore_eos: true } as never);
    assert.equal(completion.usage!.prompt_tokens, 1);
    assert.equal(completion.usage!.completion_tokens, 3);
  });

  it("accepts token-id prompts", async () => {
    const completion = await gateway.client.completions.create({ model: "target", prompt: [79, 110, 310], max_tokens: 4, temperature: 0 });
    assert.equal(completion.usage!.prompt_tokens, 3);
  });

  it("picks best_of samples by mean logprob and returns n", async () => {
    const request = { model: "target", prompt, max_tokens: 6, temperature: 1.5, seed: 2, ignore_eos: true };
    const completion = await gateway.client.completions.create({ ...request, n: 1, best_of: 3 });
    assert.equal(completion.choices.length, 1);
    assert.equal(completion.usage!.completion_tokens, 18, "all best_of samples count as completion tokens");
    // The same seed gives the same three samples when all are returned: the pick is the one with the highest mean logprob.
    const all = await gateway.client.completions.create({ ...request, n: 3, best_of: 3, logprobs: 0 });
    const mean = (choice: (typeof all.choices)[number]) => choice.logprobs!.token_logprobs!.reduce((sum, value) => sum + value!, 0) / choice.logprobs!.token_logprobs!.length;
    const ranked = [...all.choices].sort((a, b) => mean(b) - mean(a));
    assert.ok(mean(ranked[0]!) > mean(ranked[2]!), "the samples differ");
    assert.equal(completion.choices[0]!.text, ranked[0]!.text);
  });

  it("stops at a stop string and leaves it out", async () => {
    const free = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 24, temperature: 0, ignore_eos: true } as never);
    const text = free.choices[0]!.text;
    const stop = text.slice(4, 7);
    assert.equal(stop.length, 3);
    const stopped = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 24, temperature: 0, stop: [stop], ignore_eos: true } as never);
    assert.equal(stopped.choices[0]!.finish_reason, "stop");
    assert.equal(stopped.choices[0]!.text, text.slice(0, text.indexOf(stop)));
  });

  it("echoes the prompt", async () => {
    const completion = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 4, temperature: 0, echo: true });
    assert.ok(completion.choices[0]!.text.startsWith(prompt));
  });

  it("scores the prompt with echo, logprobs and max_tokens 0", async () => {
    const tokens = [79, 110, 310, 543, 258, 622];
    const scored = await gateway.client.completions.create({ model: "target", prompt: tokens, max_tokens: 0, echo: true, logprobs: 2 });
    const logprobs = scored.choices[0]!.logprobs!;
    assert.equal(logprobs.tokens!.length, tokens.length);
    assert.equal(logprobs.token_logprobs![0], null);
    assert.equal(logprobs.top_logprobs![0], null);
    assert.ok(logprobs.token_logprobs!.slice(1).every((value) => value !== null && value <= 0));
    assert.equal(scored.usage!.completion_tokens, 0);
    // The prompt's last token, scored, has the logprob a greedy completion of the prefix reports for
    // it, up to rounding: the prompt is scored in one batch, the completion in a single-token step,
    // and llama.cpp's batched and single-token matrix products round differently (2.8e-6 apart on
    // the 16-layer demo target).
    const prefix = await gateway.client.completions.create({ model: "target", prompt: tokens.slice(0, -1), max_tokens: 1, logprobs: 0, logit_bias: { [String(tokens.at(-1))]: 100 } });
    const gap = Math.abs(prefix.choices[0]!.logprobs!.token_logprobs![0]! - logprobs.token_logprobs!.at(-1)!);
    assert.ok(gap < 1e-4, `gap ${gap}`);
  });

  it("streams echo with prompt logprobs first, then the completion", async () => {
    const request = { model: "target", prompt, max_tokens: 3, temperature: 0, echo: true, logprobs: 1, ignore_eos: true };
    const whole = await gateway.client.completions.create(request as never) as unknown as { choices: { text: string; logprobs: { tokens: string[]; text_offset: number[] } }[] };
    const stream = await gateway.client.completions.create({ ...request, stream: true } as never) as unknown as AsyncIterable<{ choices: { text: string; logprobs: { tokens: string[]; text_offset: number[] } | null }[] }>;
    let text = "";
    const offsets: number[] = [];
    for await (const chunk of stream) for (const choice of chunk.choices) {
      text += choice.text;
      offsets.push(...(choice.logprobs?.text_offset ?? []));
    }
    assert.ok(text.startsWith(prompt));
    assert.equal(text, whole.choices[0]!.text);
    assert.deepEqual(offsets, whole.choices[0]!.logprobs.text_offset);
  });

  it("returns logprobs in the completions shape", async () => {
    const completion = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 5, temperature: 0, logprobs: 3, ignore_eos: true } as never);
    const logprobs = completion.choices[0]!.logprobs!;
    assert.equal(logprobs.tokens!.length, 5);
    assert.equal(logprobs.token_logprobs!.length, 5);
    assert.equal(logprobs.text_offset![0], 0);
    for (const [i, top] of logprobs.top_logprobs!.entries()) {
      const values = Object.values(top);
      assert.ok(values.length >= 1 && values.length <= 3);
      assert.ok(values.every((value) => value <= 0));
      // Greedy picks the most probable token, so its logprob is the top one.
      assert.ok(Math.abs(logprobs.token_logprobs![i]! - Math.max(...values)) < 1e-9);
    }
  });

  it("applies logit_bias: a banned token never appears, a boosted one always does", async () => {
    const greedy = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 6, temperature: 0, logprobs: 1, ignore_eos: true } as never);
    const firstToken = greedy.choices[0]!.logprobs!.tokens![0]!;
    const boosted = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 4, temperature: 0, logit_bias: { "1000": 100 }, logprobs: 0 });
    const boostedToken = boosted.choices[0]!.logprobs!.tokens![0]!;
    assert.equal(boosted.choices[0]!.logprobs!.tokens!.every((token) => token === boostedToken), true);
    const banned = await gateway.client.completions.create({ model: "target", prompt: [79, 110, 310, 543, 258, 622], max_tokens: 1, temperature: 0, logit_bias: { "1000": -100 }, logprobs: 0 });
    assert.notEqual(banned.choices[0]!.logprobs!.tokens![0], boostedToken);
    assert.ok(firstToken.length > 0);
  });

  it("penalises repetition with frequency_penalty", async () => {
    const plain = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 40, temperature: 0, logprobs: 0, ignore_eos: true } as never);
    const penalised = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 40, temperature: 0, frequency_penalty: 2, presence_penalty: 2, logprobs: 0, ignore_eos: true } as never);
    const distinct = (tokens: string[]) => new Set(tokens).size;
    assert.ok(distinct(penalised.choices[0]!.logprobs!.tokens!) >= distinct(plain.choices[0]!.logprobs!.tokens!));
    assert.notEqual(penalised.choices[0]!.text, plain.choices[0]!.text);
  });

  it("streams completions, ending with a usage chunk", async () => {
    const stream = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true }, ignore_eos: true } as never) as unknown as AsyncIterable<{ choices: { text: string; finish_reason: string | null }[]; usage?: { completion_tokens: number } | null }>;
    let text = "";
    let finish: string | null = null;
    let usage: { completion_tokens: number } | null | undefined;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        text += choice.text;
        finish = choice.finish_reason ?? finish;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    const whole = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 10, temperature: 0, ignore_eos: true } as never);
    assert.equal(text, whole.choices[0]!.text);
    assert.equal(finish, "length");
    assert.equal(usage?.completion_tokens, 10);
  });

  it("streams n > 1 completions for several prompts, each choice finishing", async () => {
    const stream = await gateway.client.completions.create({ model: "target", prompt: ["Hello", "Bye"], max_tokens: 5, n: 2, temperature: 0, stream: true, ignore_eos: true } as never) as unknown as AsyncIterable<{ choices: { index: number; text: string; finish_reason: string | null }[] }>;
    const texts = new Map<number, string>();
    const finished: number[] = [];
    for await (const chunk of stream) for (const choice of chunk.choices) {
      texts.set(choice.index, (texts.get(choice.index) ?? "") + choice.text);
      if (choice.finish_reason !== null) finished.push(choice.index);
    }
    assert.deepEqual(finished.sort(), [0, 1, 2, 3]);
    assert.equal(texts.get(0), texts.get(1), "greedy choices of one prompt agree");
    assert.notEqual(texts.get(0), texts.get(2));
  });

  it("chats, non-streaming and streaming alike", async () => {
    const messages = [{ role: "system" as const, content: "Be brief." }, { role: "user" as const, content: "Tell me a story." }];
    const chat = await gateway.client.chat.completions.create({ model: "target", messages, max_tokens: 10, temperature: 0 });
    assert.equal(chat.object, "chat.completion");
    assert.equal(chat.choices[0]!.message.role, "assistant");
    const stream = await gateway.client.chat.completions.create({ model: "target", messages, max_tokens: 10, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let content = "";
    let role: string | undefined;
    let usage: number | undefined;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        role ??= choice.delta.role;
        content += choice.delta.content ?? "";
      }
      if (chunk.usage) usage = chunk.usage.completion_tokens;
    }
    assert.equal(role, "assistant");
    assert.equal(content, chat.choices[0]!.message.content);
    assert.equal(usage, chat.usage!.completion_tokens);
  });

  it("renders chat without a template in the documented default form", async () => {
    const chat = await gateway.client.chat.completions.create({ model: "target", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }], max_tokens: 8, temperature: 0 });
    const completion = await gateway.client.completions.create({ model: "target", prompt: "System: Be brief.\nUser: Hi\nAssistant:", max_tokens: 8, temperature: 0, stop: ["\nUser:"] });
    assert.equal(chat.usage!.prompt_tokens, completion.usage!.prompt_tokens);
    assert.equal(chat.choices[0]!.message.content, completion.choices[0]!.text);
  });

  it("streams n > 1 chat choices with their own indices", async () => {
    const stream = await gateway.client.chat.completions.create({ model: "target", messages: [{ role: "user", content: "Hi" }], max_tokens: 6, n: 2, temperature: 1, seed: 4, stream: true });
    const finished = new Set<number>();
    for await (const chunk of stream) for (const choice of chunk.choices) if (choice.finish_reason !== null) finished.add(choice.index);
    assert.deepEqual([...finished].sort(), [0, 1]);
  });

  it("gives text offsets inside the text and each token's own bytes where a character spans tokens", async () => {
    const text = "naïve café, a 🦙 — über";
    const scored = await gateway.client.completions.create({ model: "target", prompt: text, max_tokens: 0, echo: true, logprobs: 0 });
    const choice = scored.choices[0]!;
    assert.equal(choice.text, text);
    const offsets = choice.logprobs!.text_offset!;
    offsets.forEach((offset, i) => assert.ok(offset >= (offsets[i - 1] ?? 0) && offset <= text.length, `offset ${offset} of token ${i}`));
    // The llama is several byte tokens here: every one of them starts where the llama does.
    const llama = text.indexOf("🦙");
    assert.ok(offsets.filter((offset) => offset === llama).length >= 2, `offsets ${offsets}`);
    assert.equal(offsets.at(-1)! < text.length, true);
    // Chat logprobs report those tokens' own bytes: together they are the character's UTF-8.
    const model = gateway.server.gateway.engine!.get("target")!;
    const pieces = model.tokenize("🦙").filter((token) => !model.isEndOfGeneration(token) && model.detokenize([token]) !== "");
    assert.ok(pieces.some((token) => model.detokenize([token]).includes("\uFFFD")), "a piece of the character alone is U+FFFD");
    assert.deepEqual(Buffer.concat(pieces.map((token) => model.tokenBytes(token))), Buffer.from("🦙"));
  });

  it("returns chat logprobs with top_logprobs", async () => {
    const chat = await gateway.client.chat.completions.create({ model: "target", messages: [{ role: "user", content: "Hi" }], max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 2 });
    const content = chat.choices[0]!.logprobs!.content!;
    assert.ok(content.length >= 1);
    for (const entry of content) {
      assert.equal(entry.top_logprobs.length, 2);
      assert.ok(entry.logprob <= 0);
    }
  });

  it("sends x-request-id on every response", async () => {
    const { response } = await gateway.client.completions.create({ model: "target", prompt, max_tokens: 1 }).withResponse();
    assert.match(response.headers.get("x-request-id") ?? "", /^req_/);
    const health = await fetch(`${gateway.url}/health`);
    assert.ok(health.headers.get("x-request-id"));
  });
});
