import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { metric, postJson, settle, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conforms, conformsAsError } from "./openapi-validator.ts";

/** What the gateway adds to `usage` when a request decoded speculatively. */
interface SpecDecodeUsage {
  num_drafts: number;
  num_draft_tokens: number;
  num_accepted_tokens: number;
  num_target_calls: number;
}

interface CompletionBody {
  choices: { text: string }[];
  usage: { completion_tokens: number; spec_decode?: SpecDecodeUsage };
}

const prompts = ["The President said", "Call me Ishmael.", "In the year of our Lord", "The Congress shall", "It was the whale"];

describe("speculative decoding through the gateway", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startTestGateway({ SPECULATION: "auto", SEQUENCES: "8", SPEC_MAX_K: "4", SPEC_MAX_L: "8" });
  });
  after(async () => {
    await gateway.close();
  });

  const complete = async (body: Record<string, unknown>): Promise<CompletionBody> => {
    const response = await postJson(`${gateway.url}/v1/completions`, { model: "target", max_tokens: 32, ...body });
    return (await conforms("/v1/completions", "post", response)) as CompletionBody;
  };

  it("greedy output is plain greedy decoding's, byte for byte, for K = 1, 2 and 4", async () => {
    for (const prompt of prompts) {
      const plain = await complete({ prompt, temperature: 0, speculation: "off" });
      assert.equal(plain.usage.spec_decode, undefined);
      for (const k of [1, 2, 4]) {
        const speculative = await complete({ prompt, temperature: 0, speculation: { k, l: 4 } });
        assert.equal(speculative.choices[0]!.text, plain.choices[0]!.text, `K = ${k} on ${JSON.stringify(prompt)}`);
        const figures = speculative.usage.spec_decode!;
        assert.ok(figures.num_drafts > 0 && figures.num_draft_tokens === 4 * figures.num_drafts, JSON.stringify(figures));
        assert.ok(figures.num_accepted_tokens <= speculative.usage.completion_tokens);
        // Each target call yields at least one token; speculation that is accepted at all needs fewer calls than tokens.
        assert.ok(figures.num_target_calls <= speculative.usage.completion_tokens);
      }
    }
  });

  it("l = 0 is plain decoding whatever k says: one sequence, no spec_decode; k above SPEC_MAX_K is refused all the same", async () => {
    const plain = await complete({ prompt: prompts[0], temperature: 0, speculation: "off" });
    const body = await complete({ prompt: prompts[0], temperature: 0, speculation: { k: 4, l: 0 } });
    assert.equal(body.choices[0]!.text, plain.choices[0]!.text);
    assert.equal(body.usage.spec_decode, undefined);
    const controller = new AbortController();
    const response = await fetch(`${gateway.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "target", prompt: prompts[1], max_tokens: 400, ignore_eos: true, stream: true, speculation: { k: 4, l: 0 } }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    assert.equal(gateway.server.gateway.activeSequences(), 1, "a plain request holds one sequence");
    controller.abort();
    await reader.cancel().catch(() => undefined);
    assert.equal(await settle(async () => gateway.server.gateway.activeSequences(), 0), 0);
    const refused = await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: "x", speculation: { k: 8, l: 0 } });
    assert.equal(refused.status, 400);
    assert.equal((await conformsAsError(refused)).error.param, "speculation");
  });

  it("Prometheus counts exactly what the responses report", async () => {
    const read = () => Promise.all(["spec_decode_num_drafts", "spec_decode_num_draft_tokens", "spec_decode_num_accepted_tokens", "spec_decode_num_accepted_tokens_per_pos"].map((name) => metric(gateway.url, name)));
    const before = await read();
    const bodies = await Promise.all(prompts.slice(0, 3).map((prompt) => complete({ prompt, temperature: 1, speculation: { k: 2, l: 3 } })));
    const after = await read();
    const sum = (field: keyof SpecDecodeUsage) => bodies.reduce((total, body) => total + body.usage.spec_decode![field], 0);
    assert.deepEqual(after.slice(0, 3).map((value, i) => value - before[i]!), [sum("num_drafts"), sum("num_draft_tokens"), sum("num_accepted_tokens")]);
    // A block keeps a draft token at each position up to the first where no draft holds the emitted token, so the per-position counts add up to the accepted tokens.
    assert.equal(after[3]! - before[3]!, sum("num_accepted_tokens"));
  });

  it("sampled speculative decoding with a seed and a fixed shape is reproducible", async () => {
    const request = { prompt: prompts[1], temperature: 1, seed: 7, speculation: { k: 2, l: 4 } };
    const [first, second] = [await complete(request), await complete(request)];
    assert.equal(first.choices[0]!.text, second.choices[0]!.text);
    assert.ok(first.usage.spec_decode!.num_drafts > 0);
  });

  it("a seeded request without a speculation field decodes plainly, so its seed fixes the output", async () => {
    const seeded = await complete({ prompt: prompts[2], temperature: 1, seed: 11 });
    assert.equal(seeded.usage.spec_decode, undefined);
    const plain = await complete({ prompt: prompts[2], temperature: 1, seed: 11, speculation: "off" });
    assert.equal(seeded.choices[0]!.text, plain.choices[0]!.text);
  });

  it("auto reports its figures, and chat completions speculate too (through the openai client)", async () => {
    const auto = await complete({ prompt: prompts[3], temperature: 1 });
    assert.ok(auto.usage.spec_decode !== undefined && auto.usage.spec_decode.num_target_calls > 0);
    const chat = await gateway.client.chat.completions.create({
      model: "target",
      messages: [{ role: "user", content: "Call me Ishmael." }],
      max_tokens: 16,
      temperature: 0,
      // @ts-expect-error the gateway's extension field
      speculation: { k: 2, l: 4 },
    });
    const usage = chat.usage as unknown as { spec_decode?: SpecDecodeUsage };
    assert.ok(usage.spec_decode !== undefined && usage.spec_decode.num_drafts > 0);
  });

  it("n > 1 speculates every choice on its own sequences", async () => {
    const body = await complete({ prompt: prompts[0], temperature: 0, n: 2, speculation: { k: 2, l: 4 } });
    assert.equal(body.choices.length, 2);
    assert.equal(body.choices[0]!.text, body.choices[1]!.text);
  });

  it("refuses shapes the server does not allow, and nonsense, with 400 naming the field", async () => {
    for (const speculation of [{ k: 5, l: 4 }, { k: 2, l: 9 }, { k: 0, l: 4 }, "sometimes", { k: 2 }]) {
      const response = await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: "x", speculation });
      assert.equal(response.status, 400, JSON.stringify(speculation));
      const error = (await conformsAsError(response)) as { error: { param: string | null } };
      assert.match(error.error.param ?? "", /^speculation\b/, JSON.stringify(speculation));
    }
  });

  it("a cancelled speculative stream frees its target and draft sequences", async () => {
    const response = await postJson(`${gateway.url}/v1/completions`, {
      model: "target", prompt: prompts[4], max_tokens: 400, ignore_eos: true, temperature: 1, stream: true, speculation: { k: 4, l: 8 },
    });
    const reader = response.body!.getReader();
    await reader.read();
    assert.equal(await metric(gateway.url, "num_draft_sequences_active"), 4);
    await reader.cancel();
    assert.equal(await settle(() => metric(gateway.url, "num_sequences_active"), 0), 0);
    assert.equal(await settle(() => metric(gateway.url, "num_draft_sequences_active"), 0), 0);
  });
});

describe("speculative decoding when the server has it off", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startTestGateway({ SPECULATION: "off" });
  });
  after(async () => {
    await gateway.close();
  });

  it("a fixed shape is refused with 400; auto and off decode plainly", async () => {
    const refused = await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: "x", speculation: { k: 2, l: 4 } });
    assert.equal(refused.status, 400);
    for (const speculation of ["auto", "off"]) {
      const response = await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: "x", max_tokens: 4, speculation });
      const body = (await conforms("/v1/completions", "post", response)) as CompletionBody;
      assert.equal(body.usage.spec_decode, undefined);
    }
  });
});
