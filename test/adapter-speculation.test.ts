/**
 * Speculative decoding on adapters: an adapter version verifies the draft's proposals with its
 * own (adapted) target contexts, beside draft contexts and a tuner of its own. Greedy output
 * with SpecTr at K = 1, 2 and 4 is the adapter's plain greedy output byte for byte, which
 * differs from the base's (so the adapter, not the base, verified); after a swap the new
 * version speculates too, with its own output.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { adaptersDir, writeRandomAdapter } from "./adapter-fixtures.ts";
import { postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conforms } from "./openapi-validator.ts";

interface CompletionBody {
  choices: { text: string }[];
  system_fingerprint: string;
  usage: { completion_tokens: number; spec_decode?: { num_drafts: number; num_draft_tokens: number; num_accepted_tokens: number } };
}

const prompts = ["The President said", "Call me Ishmael.", "In the year of our Lord"];
const dir = adaptersDir();
writeRandomAdapter(dir, "one.gguf", 31);
writeRandomAdapter(dir, "two.gguf", 32);

let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway({ ADAPTERS_DIR: dir, SPECULATION: "auto", SEQUENCES: "8", SPEC_MAX_K: "4", SPEC_MAX_L: "8" });
});
after(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function complete(body: Record<string, unknown>): Promise<CompletionBody> {
  const response = await postJson(`${gateway.url}/v1/completions`, { max_tokens: 24, temperature: 0, ...body });
  return (await conforms("/v1/completions", "post", response)) as CompletionBody;
}

async function load(file: string): Promise<void> {
  const response = await postJson(`${gateway.url}/v1/load_lora_adapter`, { lora_name: "spec", lora_path: file });
  assert.equal(response.status, 200, await response.clone().text());
}

/** Checks SpecTr's greedy output on the adapter against its plain output; returns the plain texts. */
async function speculativeMatchesPlain(): Promise<string[]> {
  const texts: string[] = [];
  for (const prompt of prompts) {
    const plain = await complete({ model: "spec", prompt, speculation: "off" });
    assert.equal(plain.usage.spec_decode, undefined);
    for (const k of [1, 2, 4]) {
      const speculative = await complete({ model: "spec", prompt, speculation: { k, l: 4 } });
      assert.equal(speculative.choices[0]!.text, plain.choices[0]!.text, `K = ${k} on ${JSON.stringify(prompt)}`);
      assert.equal(speculative.system_fingerprint, plain.system_fingerprint);
      const figures = speculative.usage.spec_decode;
      assert.ok(figures !== undefined && figures.num_drafts > 0 && figures.num_draft_tokens === 4 * figures.num_drafts, JSON.stringify(figures));
    }
    texts.push(plain.choices[0]!.text);
  }
  return texts;
}

describe("speculative decoding with LoRA adapters", () => {
  it("greedy SpecTr on an adapter equals the adapter's plain greedy output, before and after a swap", async () => {
    const base = await Promise.all(prompts.map(async (prompt) => (await complete({ model: "target", prompt, speculation: "off" })).choices[0]!.text));
    await load("one.gguf");
    const first = await speculativeMatchesPlain();
    assert.notDeepEqual(first, base, "the adapter changes the output, so the adapter verified the drafts");
    await load("two.gguf");
    const second = await speculativeMatchesPlain();
    assert.notDeepEqual(second, first, "the new version answers with its own output");
  });
});
