/**
 * Concurrent requests on one context must decode exactly what each would decode alone.
 * node-llama-cpp 3.21.1 swaps outputs between sequences batched into one decode (before
 * src/engine/serial-evaluation.ts, 5 of 20 greedy prompts went wrong with 4 streams), so this
 * runs 4 streams of greedy decoding, plain and speculative, against single-stream output.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel, type Llama, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { loadCorpus } from "../kernels/corpus.ts";
import { plainDecoding } from "../src/engine/decoding/plain.ts";
import { fixedSpeculation, SpectrDecoding } from "../src/engine/decoding/spectr.ts";
import { createDraftPool, leaseSpectrSequences } from "../src/engine/decoding/spectr-sequences.ts";
import type { DecodingStrategy } from "../src/engine/decoding/strategy.ts";
import { generateChoice } from "../src/engine/generate.ts";
import { greedy } from "../src/engine/sampling/params.ts";
import { ServedModel } from "../src/engine/served-model.ts";
import type { SequencePool } from "../src/engine/sequence-pool.ts";

const PROMPTS = 16;
const TOKENS = 40;
const STREAMS = 4;

let llama: Llama;
let target: ServedModel;
let draftModel: LlamaModel;
let draftPool: SequencePool;
let prompts: number[][];

before(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  target = await ServedModel.load(llama, { id: "target", path: "models/target.gguf", threads: 1, contextSize: 256, sequences: 16, batchSize: 1024 });
  draftModel = await llama.loadModel({ modelPath: "models/draft.gguf" });
  draftPool = await createDraftPool(draftModel, { sequencesPerContext: [16], contextSize: 256, threads: 1, batchSize: 1024 });
  const lines = loadCorpus().validation.flatMap((d) => d.text.split("\n")).filter((line) => line.length > 200);
  const step = Math.floor(lines.length / PROMPTS);
  prompts = Array.from({ length: PROMPTS }, (_, i) => target.tokenize(lines[i * step]!.slice(0, 160).replace(/\s+\S*$/, "")));
});

after(async () => {
  await draftPool.dispose();
  await draftModel.dispose();
  await target.dispose();
  await llama.dispose();
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
    return await decode(lease.targets[0]!, new SpectrDecoding({ targets: lease.targets, drafts: lease.drafts, policy: fixedSpeculation(4, 4) }), prompt);
  } finally {
    await lease.release();
  }
}

/** Runs every prompt through `run` with STREAMS requests in flight at once. */
async function concurrently(run: (prompt: number[]) => Promise<string>): Promise<string[]> {
  const outputs: string[] = new Array(PROMPTS);
  let next = 0;
  await Promise.all(Array.from({ length: STREAMS }, async () => {
    while (next < PROMPTS) {
      const i = next++;
      outputs[i] = await run(prompts[i]!);
    }
  }));
  return outputs;
}

describe("concurrent decoding on one context", () => {
  let alone: string[];
  before(async () => {
    alone = [];
    for (const prompt of prompts) alone.push(await plain(prompt));
  });

  it(`${STREAMS} plain greedy streams decode what each decodes alone`, async () => {
    const together = await concurrently(plain);
    const differing = together.map((out, i) => (out === alone[i] ? -1 : i)).filter((i) => i >= 0);
    assert.deepEqual(differing, [], `prompts whose output changed under concurrency: ${differing.join(", ")}`);
    assert.equal(target.pool.active, 0);
  });

  it(`${STREAMS} SpecTr (K = 4, L = 4) greedy streams decode what plain decoding does alone`, async () => {
    const together = await concurrently(speculative);
    const differing = together.map((out, i) => (out === alone[i] ? -1 : i)).filter((i) => i >= 0);
    assert.deepEqual(differing, [], `prompts whose output changed: ${differing.join(", ")}`);
    assert.equal(target.pool.active, 0);
    assert.equal(draftPool.active, 0);
  });
});
