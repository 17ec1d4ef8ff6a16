/**
 * Concurrent requests on one context share llama.cpp batches and must decode exactly what each
 * would decode alone. node-llama-cpp 3.21.1 handed a sequence another's output under batching
 * (concurrent sampleToken calls raced with llama.cpp's lazy output reordering; reproduced alone
 * by bench/batch-race.ts); 3.22.1 serializes that reordering. This runs 16 sequences at once on
 * one context: 16 plain greedy streams, 4 SpecTr streams of K = 4 (16 target and 16 draft
 * sequences), and a mix of 8 plain and 2 SpecTr streams, against single-stream output.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LlamaContextSequence } from "node-llama-cpp";
import { loadCorpus } from "../kernels/corpus.ts";
import { plainDecoding } from "../src/engine/decoding/plain.ts";
import { fixedSpeculation, SpectrDecoding } from "../src/engine/decoding/spectr.ts";
import { leaseSpectrSequences } from "../src/engine/decoding/spectr-sequences.ts";
import type { DecodingStrategy } from "../src/engine/decoding/strategy.ts";
import { generateChoice } from "../src/engine/generate.ts";
import { greedy } from "../src/engine/sampling/params.ts";
import { ServedModel } from "../src/engine/served-model.ts";
import type { SequencePool } from "../src/engine/sequence-pool.ts";
import { loadSpectrPair, type SpectrPair } from "./spectr-pair.ts";

const PROMPTS = 16;
const TOKENS = 32;
const SEQUENCES = 16;

let pair: SpectrPair;
let target: ServedModel;
let draftPool: SequencePool;
let prompts: number[][];

before(async () => {
  pair = await loadSpectrPair({ targetPath: "models/target.gguf", draftPath: "models/draft.gguf", contextSize: 256, sequences: SEQUENCES, batchSize: 1024 });
  ({ target, draftPool } = pair);
  const lines = loadCorpus().validation.flatMap((d) => d.text.split("\n")).filter((line) => line.length > 200);
  const step = Math.floor(lines.length / PROMPTS);
  prompts = Array.from({ length: PROMPTS }, (_, i) => target.tokenize(lines[i * step]!.slice(0, 160).replace(/\s+\S*$/, "")));
});

after(async () => {
  await pair.dispose();
});

async function decode(sequence: LlamaContextSequence, strategy: DecodingStrategy, prompt: number[]): Promise<string> {
  const tokens: number[] = [];
  const request = {
    prompt, evaluated: 0, maxTokens: TOKENS, sampling: greedy, seed: 1, stop: [], stopTokenIds: new Set<number>(),
    ignoreEos: true, logprobs: null, signal: new AbortController().signal,
  };
  for await (const delta of generateChoice(target, sequence, strategy, request)) tokens.push(...delta.tokens.map((t) => t.token));
  return tokens.join(",");
}

async function plain(prompt: number[]): Promise<string> {
  const [sequence] = target.pool.take(1);
  try {
    return await decode(sequence!, plainDecoding, prompt);
  } finally {
    await target.pool.give([sequence!]);
  }
}

async function speculative(prompt: number[]): Promise<string> {
  const lease = leaseSpectrSequences(target.pool, draftPool, 4);
  try {
    const strategy = new SpectrDecoding({ targets: lease.targets, drafts: lease.drafts, policy: fixedSpeculation(4, 4), vocabularySize: target.vocabularySize });
    return await decode(lease.targets[0]!, strategy, prompt);
  } finally {
    await lease.release();
  }
}

/** Runs every prompt through its runner, `streams` requests in flight at once. */
async function concurrently(streams: number, runner: (i: number) => (prompt: number[]) => Promise<string>): Promise<string[]> {
  const outputs: string[] = new Array(PROMPTS);
  let next = 0;
  await Promise.all(Array.from({ length: streams }, async () => {
    while (next < PROMPTS) {
      const i = next++;
      outputs[i] = await runner(i)(prompts[i]!);
    }
  }));
  return outputs;
}

function changed(together: string[], alone: string[]): number[] {
  return together.map((out, i) => (out === alone[i] ? -1 : i)).filter((i) => i >= 0);
}

describe("16 concurrent sequences on one context", () => {
  let alone: string[];
  before(async () => {
    alone = [];
    for (const prompt of prompts) alone.push(await plain(prompt));
  });

  it("16 plain greedy streams decode what each decodes alone", async () => {
    const together = await concurrently(16, () => plain);
    assert.deepEqual(changed(together, alone), [], "prompts whose output changed under concurrency");
    assert.equal(target.pool.active, 0);
  });

  it("4 SpecTr (K = 4, L = 4) greedy streams, 16 target and 16 draft sequences, decode what plain decoding does alone", async () => {
    const together = await concurrently(4, () => speculative);
    assert.deepEqual(changed(together, alone), [], "prompts whose output changed");
    assert.equal(target.pool.active, 0);
    assert.equal(draftPool.active, 0);
  });

  it("8 plain and 2 SpecTr streams mixed decode what plain decoding does alone", async () => {
    // Streams take prompts in turn; odd prompts under 5 speculate.
    const together = await concurrently(10, (i) => (i % 2 === 1 && i < 5 ? speculative : plain));
    assert.deepEqual(changed(together, alone), [], "prompts whose output changed");
    assert.equal(target.pool.active, 0);
    assert.equal(draftPool.active, 0);
  });
});
