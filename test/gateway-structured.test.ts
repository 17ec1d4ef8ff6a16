/**
 * Structured output through the official openai SDK against a real gateway: response_format
 * json_object and json_schema on chat, the `grammar` (GBNF) extension on completions and chat.
 * Every finished output parses and validates (ajv) against the schema it was asked for, sampled
 * or greedy; a generation cut by max_tokens says "length" and is left unfinished; what cannot be
 * enforced is a 400 naming the field.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { rmSync } from "node:fs";
import { adaptersDir, writeRandomAdapter } from "./adapter-fixtures.ts";
import { postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { assertValidJson as assertValid, expect400 } from "./structured-checks.ts";

const dir = adaptersDir();
writeRandomAdapter(dir, "a.gguf", 1);

let gateway: TestGateway;
before(async () => {
  // Speculation available (off unless a request asks), and an adapter to load.
  gateway = await startTestGateway({ SPECULATION: "auto", SEQUENCES: "8", SPEC_MAX_K: "4", SPEC_MAX_L: "4", ADAPTERS_DIR: dir });
});
after(async () => {
  await gateway.close();
  rmSync(dir, { recursive: true, force: true });
});

const person = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 12 },
    age: { type: "integer" },
    member: { type: "boolean" },
    role: { enum: ["admin", "user", "guest"] },
    tags: { type: "array", items: { type: "string", maxLength: 6 }, maxItems: 3 },
    nickname: { anyOf: [{ type: "string", maxLength: 8 }, { type: "null" }] },
  },
  required: ["name", "age", "member", "role", "tags", "nickname"],
  additionalProperties: false,
};

const messages = [{ role: "user" as const, content: "Describe a person as JSON." }];

describe("response_format json_schema", () => {
  it("greedy and sampled outputs parse and validate against the schema", async () => {
    for (const temperature of [0, 1, 1.5]) {
      const completion = await gateway.client.chat.completions.create({
        model: "target",
        messages,
        response_format: { type: "json_schema", json_schema: { name: "person", schema: person, strict: true } },
        temperature,
        n: temperature === 0 ? 1 : 3,
        max_tokens: 200,
      });
      for (const choice of completion.choices) {
        assert.equal(choice.finish_reason, "stop", `ends with the JSON: ${choice.message.content}`);
        assertValid(person, choice.message.content!);
        assert.equal(choice.message.content, choice.message.content!.trim(), "nothing after the closing brace");
      }
    }
  });

  it("integers stay whole and numbers finite when the model leans to exponents", async () => {
    // node-llama-cpp's rules let an integer end in e-1900000000000000 and a number overflow to
    // Infinity. The bias favours "e", "E" and "-" (the demo tokenizer's byte tokens: id = byte).
    const numbers = { type: "object", properties: { n: { type: "integer" }, x: { type: "number" } }, required: ["n", "x"], additionalProperties: false };
    const completion = await gateway.client.chat.completions.create({
      model: "target",
      messages,
      response_format: { type: "json_schema", json_schema: { name: "numbers", schema: numbers } },
      temperature: 1,
      seed: 1,
      n: 4,
      max_tokens: 80,
      logit_bias: { 101: 12, 69: 12, 45: 6 },
    });
    for (const choice of completion.choices) {
      const text = choice.message.content!;
      assert.equal(choice.finish_reason, "stop", text);
      assertValid(numbers, text);
      const written = /"n"\s*:\s*([^,}\s]+)[\s\S]*"x"\s*:\s*([^,}\s]+)/.exec(text);
      assert.match(written?.[1] ?? "", /^-?(0|[1-9][0-9]*)$/, `an integer written whole: ${text}`);
      assert.match(written?.[2] ?? "", /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]{1,2})?$/, `at most two exponent digits: ${text}`);
    }
  });

  it("streams deltas that join into a valid document", async () => {
    const stream = await gateway.client.chat.completions.create({
      model: "target",
      messages,
      response_format: { type: "json_schema", json_schema: { name: "person", schema: person } },
      temperature: 1,
      seed: 5,
      max_tokens: 200,
      stream: true,
    });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, "stop");
    assertValid(person, text);
  });

  it("reproduces a seeded constrained sample", async () => {
    const ask = () => gateway.client.chat.completions.create({ model: "target", messages, response_format: { type: "json_schema", json_schema: { name: "person", schema: person } }, temperature: 1, seed: 11, max_tokens: 200 });
    assert.equal((await ask()).choices[0]!.message.content, (await ask()).choices[0]!.message.content);
  });

  it("follows $defs references and scalar type lists", async () => {
    const schema = {
      type: "object",
      properties: { home: { $ref: "#/$defs/place" }, work: { $ref: "#/$defs/place" }, rank: { type: ["integer", "null"] } },
      required: ["home", "work", "rank"],
      additionalProperties: false,
      $defs: { place: { type: "object", properties: { city: { enum: ["Oslo", "Lima"] }, floor: { type: "integer" } }, required: ["city", "floor"], additionalProperties: false } },
    };
    const completion = await gateway.client.chat.completions.create({ model: "target", messages, response_format: { type: "json_schema", json_schema: { name: "places", schema } }, temperature: 1, n: 2, max_tokens: 200 });
    for (const choice of completion.choices) {
      assert.equal(choice.finish_reason, "stop");
      assertValid(schema, choice.message.content!);
    }
  });

  it("finishes with length inside an unfinished value, without closing it", async () => {
    const schema = { type: "object", properties: { story: { type: "string", minLength: 200 } }, required: ["story"], additionalProperties: false };
    const completion = await gateway.client.chat.completions.create({ model: "target", messages, response_format: { type: "json_schema", json_schema: { name: "story", schema } }, temperature: 1, max_tokens: 8 });
    const choice = completion.choices[0]!;
    assert.equal(choice.finish_reason, "length");
    assert.equal(completion.usage!.completion_tokens, 8);
    assert.ok(choice.message.content!.startsWith('{'), choice.message.content!);
    assert.throws(() => JSON.parse(choice.message.content!), "the document is left open");
  });
});

describe("structured output composes", () => {
  it("with SpecTr: valid documents, greedy output equal to plain decoding's", async () => {
    const ask = (speculation: object | string, temperature: number, n = 1) => gateway.client.chat.completions.create({ model: "target", messages, response_format: { type: "json_schema", json_schema: { name: "person", schema: person } }, temperature, n, max_tokens: 200, speculation } as never);
    const plain = await ask("off", 0);
    const speculative = await ask({ k: 4, l: 4 }, 0);
    assert.equal(speculative.choices[0]!.message.content, plain.choices[0]!.message.content);
    assert.ok((speculative.usage as { spec_decode?: { num_accepted_tokens: number } }).spec_decode!.num_accepted_tokens > 0);
    const sampled = await ask({ k: 2, l: 3 }, 1, 2);
    for (const choice of sampled.choices) {
      assert.equal(choice.finish_reason, "stop");
      assertValid(person, choice.message.content!);
    }
  });

  it("with a LoRA adapter", async () => {
    const loaded = await postJson(`${gateway.url}/v1/load_lora_adapter`, { lora_name: "alpha", lora_path: "a.gguf" });
    assert.equal(loaded.status, 200);
    const completion = await gateway.client.chat.completions.create({ model: "alpha", messages, response_format: { type: "json_schema", json_schema: { name: "person", schema: person } }, temperature: 1, n: 2, max_tokens: 200 });
    for (const choice of completion.choices) {
      assert.equal(choice.finish_reason, "stop");
      assertValid(person, choice.message.content!);
    }
  });
});

describe("response_format json_object", () => {
  it("gives a JSON object whenever the output finishes, and a prefix of one when cut", async () => {
    const completion = await gateway.client.chat.completions.create({ model: "target", messages, response_format: { type: "json_object" }, temperature: 1, n: 3, max_tokens: 120, seed: 2 });
    for (const choice of completion.choices) {
      const text = choice.message.content!;
      assert.ok(text.startsWith("{"), text);
      if (choice.finish_reason === "stop") assertValid({ type: "object" }, text);
      else assert.equal(choice.finish_reason, "length");
    }
  });

  it("text is the unconstrained default", async () => {
    const completion = await gateway.client.chat.completions.create({ model: "target", messages, response_format: { type: "text" }, temperature: 0, max_tokens: 8 });
    const plain = await gateway.client.chat.completions.create({ model: "target", messages, temperature: 0, max_tokens: 8 });
    assert.equal(completion.choices[0]!.message.content, plain.choices[0]!.message.content);
  });
});

describe("the grammar extension (GBNF)", () => {
  const answers = 'root ::= " yes" | " no" | " not sure"';

  it("constrains completions, n choices and logprobs to the grammar's language", async () => {
    const completion = await gateway.client.completions.create({ model: "target", prompt: "Is it raining? Answer:", temperature: 1.5, n: 4, max_tokens: 10, logprobs: 3, grammar: answers } as never);
    for (const choice of completion.choices) {
      assert.ok([" yes", " no", " not sure"].includes(choice.text), JSON.stringify(choice.text));
      assert.equal(choice.finish_reason, "stop");
      // Logprobs are of the constrained distribution: every alternative listed is allowed there.
      for (const top of choice.logprobs!.top_logprobs!) {
        for (const token of Object.keys(top!)) assert.ok(" yes no not sure".includes(token) || token === "", JSON.stringify(token));
      }
    }
  });

  it("gives logprobs of the renormalised constrained law: the allowed tokens' probabilities sum to 1", async () => {
    // Two one-character answers: at the first position the grammar allows exactly those two tokens.
    const completion = await gateway.client.completions.create({ model: "target", prompt: "Pick a letter:", temperature: 1, max_tokens: 1, logprobs: 5, grammar: 'root ::= "a" | "b"' } as never);
    const first = completion.choices[0]!.logprobs!.top_logprobs![0]!;
    assert.deepEqual(Object.keys(first).sort(), ["a", "b"]);
    const mass = Object.values(first).reduce((sum, logprob) => sum + Math.exp(logprob), 0);
    assert.ok(Math.abs(mass - 1) < 1e-4, `the constrained law's mass: ${mass}`);
  });

  it("constrains chat and composes with stop", async () => {
    const grammar = 'root ::= "a" [a-z]{3,8} " " "b" [a-z]{3,8}';
    const completion = await gateway.client.chat.completions.create({ model: "target", messages, temperature: 1, max_tokens: 40, grammar, n: 2 } as never);
    for (const choice of completion.choices) assert.match(choice.message.content!, /^a[a-z]{3,8} b[a-z]{3,8}$/);
    const stopped = await gateway.client.chat.completions.create({ model: "target", messages, temperature: 1, max_tokens: 40, grammar, stop: [" "] } as never);
    assert.match(stopped.choices[0]!.message.content!, /^a[a-z]{3,8}$/);
    assert.equal(stopped.choices[0]!.finish_reason, "stop");
  });
});

describe("what cannot be enforced is a 400 naming the field", () => {
  const chat = (body: object) => postJson(`${gateway.url}/v1/chat/completions`, { model: "target", messages, max_tokens: 4, ...body });
  const withSchema = (schema: unknown) => ({ response_format: { type: "json_schema", json_schema: { name: "x", schema } } });
  const base = "response_format.json_schema.schema";

  it("a grammar that does not compile", async () => {
    await expect400(await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: "x", grammar: "root ::= undefined-rule" }), "grammar", /does not compile/);
    await expect400(await chat({ grammar: 'root ::= "a" (' }), "grammar", /does not compile/);
  });

  it("unsupported schema keywords, by path", async () => {
    await expect400(await chat(withSchema({ type: "object", properties: { id: { type: "string", pattern: "^a" } } })), `${base}.properties.id`, /"pattern"/);
    await expect400(await chat(withSchema({ type: "object", properties: { n: { type: "integer", minimum: 0 } } })), `${base}.properties.n`, /"minimum"/);
    await expect400(await chat(withSchema({ oneOf: [{ type: "string" }, { type: "integer" }] })), base, /"oneOf".*anyOf/);
    await expect400(await chat(withSchema({ type: "string", format: "email" })), base, /"format"/);
    await expect400(await chat(withSchema({ $ref: "https://example.com/schema.json" })), base, /"\$ref"/);
  });

  it("invalid schemas", async () => {
    await expect400(await chat(withSchema({ type: "strin" })), `${base}.type`, /Unknown type/);
    await expect400(await chat(withSchema({ type: "object", properties: { a: { type: "string" } }, required: ["b"], additionalProperties: false })), `${base}.required`, /"b"/);
    await expect400(await chat(withSchema({ type: "array", maxItems: -1 })), `${base}.maxItems`, /non-negative/);
    await expect400(await chat(withSchema({ properties: {}, $ref: "#/$defs/missing" })), base, /"properties"|not beside/);
  });

  it("a grammar and a JSON response_format together", async () => {
    await expect400(await chat({ grammar: 'root ::= "a"', response_format: { type: "json_object" } }), "grammar", /one of them/);
  });
});
