/**
 * The SpecTr decoding engine (src/engine/decoding/spectr.ts) on the REAL demo models
 * (models/target.gguf verified by models/draft.gguf), through the same generateChoice loop the
 * gateway serves with:
 * - temperature 0: output equals plain greedy decoding token for token on 20 prompts from the
 *   held-out validation text, K in {1, 4}, L = 4, 24 tokens (native argmax path); also with
 *   penalties and logprobs (the distribution path, penalties counting each draft's own tokens);
 * - temperature 1 with top-k (explicit distributions) and without (head and tail, with a head of
 *   3 tokens so that the tail path runs often): the joint law of the first two generated tokens
 *   under SpecTr (K = 4, L = 2) matches the EXACT joint of plain target sampling (computed from
 *   the target's raw logits with the reference law) by a chi-square test; the power
 *   calculation is in the first;
 * - cancellation mid-generation returns every target and draft sequence, cleared.
 * No timings are asserted (shared machine): performance is bench/spectr.ts's job.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { chainFor } from "../src/engine/sampling/chain-for.ts";
import { chainDistribution, type Distribution } from "../src/engine/sampling/law.ts";
import { loadCorpus } from "../kernels/corpus.ts";
import { chiSquareTest } from "../kernels/kseq/chi-square.ts";
import { createRandom } from "../kernels/random.ts";
import { plainDecoding } from "../src/engine/decoding/plain.ts";
import { createSpeculationTuner } from "../src/engine/decoding/speculation-tuner.ts";
import { fixedSpeculation, SpectrDecoding } from "../src/engine/decoding/spectr.ts";
import { leaseSpectrSequences } from "../src/engine/decoding/spectr-sequences.ts";
import type { DecodedToken, DecodingStrategy } from "../src/engine/decoding/strategy.ts";
import { generateChoice } from "../src/engine/generate.ts";
import { greedy, type SamplingParams } from "../src/engine/sampling/params.ts";
import { ServedModel } from "../src/engine/served-model.ts";
import { calibrationText } from "../src/engine/speculation.ts";
import type { SequencePool } from "../src/engine/sequence-pool.ts";
import { loadSpectrPair, type SpectrPair } from "./spectr-pair.ts";

const TARGET = "models/target.gguf";
const DRAFT = "models/draft.gguf";
/** Two contexts of 5 sequences per model: two sampling lanes (1 + 4 targets, 4 drafts each) run in parallel. */
const CONTEXTS = 2;
const SEQUENCES = 10;
const CONTEXT = 256;

let pair: SpectrPair;
let target: ServedModel;
let draftPool: SequencePool;

before(async () => {
  pair = await loadSpectrPair({ targetPath: TARGET, draftPath: DRAFT, contextSize: CONTEXT, sequences: SEQUENCES, contexts: CONTEXTS, batchSize: 512 });
  ({ target, draftPool } = pair);
});

after(async () => {
  await pair.dispose();
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
  const strategy = new SpectrDecoding({ targets: lease.targets, drafts: lease.drafts, policy: fixedSpeculation(k, l), vocabularySize: target.vocabularySize });
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

  it("equals plain greedy decoding with penalties and logprobs (penalties see each draft's own tokens)", async () => {
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

describe("SpecTr engine, temperature 1: law of the first two tokens", () => {
  /**
   * Exact plain joint P(y1, y2) = p~(y1 | c) p~(y2 | c, y1), p~ = applySampling of the target's
   * raw distribution (temperature 1, top-k 3: the transforms must reach p and q alike, and any
   * token outside the top 3 fails at once). N seeded SpecTr samples (K = 4, L = 2: y1 and y2
   * come from positions 0 and 1 of one block, through the survivor logic, or y2 from the next
   * block after a rejection) are counted per cell; chi-square with cells expected < 5 pooled
   * into one tail bin, rejecting at alpha = 0.01. The prompt is the flattest joint (most
   * entropy) of 8 fixed validation prompts: a shift of given TV then has the most chi-square
   * distance.
   *
   * Power, by simulation on this very P (the same binning and test on 300 multinomial samples
   * of size N from a shifted Q): "top to rare half" (mass from the most likely pair to the less
   * likely half of the pairs), "top to second" (between the two most likely pairs), "first
   * token" (y1's mass from its mode to its second value, conditionals kept: a position-0 bug),
   * "second token" (within the commonest y1, from its commonest y2 to the others: a position-1
   * or survivor bug), and the worst case for any test, a shift in proportion to P of one half
   * of the mass against the other (chi-square distance 4 TV^2).
   * N = 12,000 gives power >= 0.9 against 2% TV shifts of the four concentrated kinds (earlier
   * runs: ~0.3 for the first-token shift at N = 4,000, and power grows with N TV^2); the
   * proportional worst case would need N ~ 30,000 (4 N TV^2 must reach ~45) and is reported.
   * Budget: top-k 3 lets node-llama-cpp hand over three probabilities instead of the
   * vocabulary (samplingDistributionOptions), so a sample is a few batched calls; two lanes on
   * the two contexts sample in parallel.
   */
  it("matches plain sampling's exact joint with top-k 3 (chi-square, alpha 0.01; simulated power >= 0.9 against 2% TV shifts)", async (t) => {
    const { keys, expected } = await checkJointLaw(t, { ...greedy, temperature: 1, topK: 3 }, 12_000, undefined, allPairs);
    const power = simulatedPower(keys, expected, 12_000, ALPHA, 0.02);
    t.diagnostic(`simulated power at N = 12000 against 2% TV shifts: ${JSON.stringify(power)}`);
    for (const [shift, value] of Object.entries(power)) if (shift !== "worst case (proportional)") assert.ok(value >= POWER, `power ${value} against "${shift}"`);
  });

  it("matches plain sampling's exact joint without truncation: head and tail with a 3-token head (chi-square, alpha 0.01)", async (t) => {
    await checkJointLaw(t, { ...greedy, temperature: 1 }, 6_000, 3, binnedPairs(4));
  });
});

const ALPHA = 0.01;
const allPairs = (first: Distribution, second: (y1: number) => Distribution | undefined): Map<string, number> => {
  const cells = new Map<string, number>();
  first.tokens.forEach((y1, i) => second(y1)!.tokens.forEach((y2, j) => cells.set(`${y1},${y2}`, first.probs[i]! * second(y1)!.probs[j]!)));
  return cells;
};

/** Cells: (y1, y2) for y1 and y2 among the `top` likeliest, (y1, rest) per such y1, and (rest) for any other y1. */
function binnedPairs(top: number) {
  return (first: Distribution, second: (y1: number) => Distribution | undefined): Map<string, number> => {
    const cells = new Map<string, number>();
    let rest = 1;
    first.tokens.slice(0, top).forEach((y1, i) => {
      const next = second(y1)!;
      let inTop = 0;
      next.tokens.slice(0, top).forEach((y2, j) => {
        cells.set(`${y1},${y2}`, first.probs[i]! * next.probs[j]!);
        inTop += next.probs[j]!;
      });
      cells.set(`${y1},*`, first.probs[i]! * (1 - inTop));
      rest -= first.probs[i]!;
    });
    cells.set("*", rest);
    return cells;
  };
}

/** The cell a sample (y1, y2) falls in, for either cell layout. */
function cellOf(index: Map<string, number>, y1: number, y2: number): number | undefined {
  return index.get(`${y1},${y2}`) ?? index.get(`${y1},*`) ?? (index.has(`${y1},*`) ? undefined : index.get("*"));
}

/**
 * Exact plain joint P(y1, y2) = p~(y1 | c) p~(y2 | c, y1), p~ = the reference law (sampling/law.ts)
 * on the target's raw logits. N seeded SpecTr samples (K = 4, L = 2: y1 and y2 come from
 * positions 0 and 1 of one block, through the survivor logic, or y2 from the next block after a
 * rejection or the tail) are counted per cell; chi-square with cells expected < 5 pooled into
 * one tail bin, rejecting at alpha = 0.01. The prompt is the flattest joint (most entropy) of 8
 * fixed validation prompts: a shift of given TV then has the most chi-square distance.
 *
 * Power, by simulation on this very P (the same binning and test on 300 multinomial samples
 * of size N from a shifted Q): "top to rare half" (mass from the most likely pair to the less
 * likely half of the pairs), "top to second" (between the two most likely pairs), "first
 * token" (y1's mass from its mode to its second value, conditionals kept: a position-0 bug),
 * "second token" (within the commonest y1, from its commonest y2 to the others: a position-1
 * or survivor bug), and the worst case for any test, a shift in proportion to P of one half
 * of the mass against the other (chi-square distance 4 TV^2).
 * N = 12,000 gives power >= 0.9 against 2% TV shifts of the four concentrated kinds; the
 * proportional worst case would need N ~ 30,000 (4 N TV^2 must reach ~45) and is reported.
 * Two lanes on the two contexts sample in parallel.
 */
async function checkJointLaw(
  t: { diagnostic(message: string): void },
  sampling: SamplingParams,
  N: number,
  headSize: number | undefined,
  layout: (first: Distribution, second: (y1: number) => Distribution | undefined) => Map<string, number>,
): Promise<{ keys: string[]; expected: number[] }> {
  const LANES = CONTEXTS;
  const [sequence] = target.pool.take(1);
  const distribution = async (tokens: number[], history: number[]): Promise<Distribution> => {
    await sequence!.clearHistory();
    const items = tokens.map((token) => token as Token) as Parameters<LlamaContextSequence["controlledEvaluate"]>[0];
    items[items.length - 1] = [tokens[tokens.length - 1]! as Token, { generateNext: { logits: true } }];
    const results = await sequence!.controlledEvaluate(items);
    const row = new Float64Array(target.vocabularySize);
    for (const [token, logit] of results[tokens.length - 1]!.next!.logits!) row[token] = logit;
    return chainDistribution(row, chainFor(sampling, history, 0));
  };
  const exactJoint = async (prompt: number[]) => {
    const first = await distribution(prompt, []);
    const seconds = new Map<number, Distribution>();
    for (const y1 of first.tokens.slice(0, 64)) seconds.set(y1, await distribution([...prompt, y1], [y1]));
    return layout(first, (y1) => seconds.get(y1));
  };
  let prompt: number[] = [];
  let cells = new Map<string, number>();
  let bestEntropy = -1;
  for (const candidate of validationPrompts(20).slice(0, 8)) {
    const joint = await exactJoint(candidate);
    const entropy = [...joint.values()].reduce((h, q) => h - (q > 0 ? q * Math.log(q) : 0), 0);
    if (entropy > bestEntropy) [prompt, cells, bestEntropy] = [candidate, joint, entropy];
  }
  await target.pool.give([sequence!]);
  const keys = [...cells.keys()];
  const expected = keys.map((key) => cells.get(key)!);
  const index = new Map(keys.map((key, i) => [key, i]));

  // N SpecTr samples of (y1, y2), in lanes of their own sequences and seeded random source;
  // the sequences are reused, so each sample evaluates only the last prompt token (alignment
  // keeps the shared prompt) and its own block.
  const observed = new Float64Array(keys.length + 1); // last: outside the support
  const figures = { blocks: 0, accepted: 0 };
  const lane = async (laneIndex: number): Promise<void> => {
    const random = createRandom(20261126 + laneIndex);
    await using lease = leaseSpectrSequences(target.pool, draftPool, 5);
    const [empty, ...targets] = lease.targets;
    for (let n = laneIndex; n < N; n += LANES) {
      const strategy = new SpectrDecoding({ targets, drafts: lease.drafts.slice(0, 4), policy: fixedSpeculation(4, 2), vocabularySize: target.vocabularySize, ...(headSize === undefined ? {} : { headSize }) });
      const state = { target: empty!, sampling, random, logprobs: null, history: [] as number[] };
      let input: number[] = prompt;
      while (state.history.length < 2) {
        state.history.push(...(await strategy.next(input, state)).map((d) => d.token));
        input = state.history.slice(-1);
      }
      observed[cellOf(index, state.history[0]!, state.history[1]!) ?? keys.length]! += 1;
      figures.blocks += strategy.figures.blocks;
      figures.accepted += strategy.figures.acceptedTokens;
    }
  };
  await Promise.all(Array.from({ length: LANES }, (_, i) => lane(i)));
  assert.equal(observed[keys.length], 0, "a sample outside the support");
  const { statistic, df, pValue } = chiSquareTest(observed, [...expected, 0]);
  t.diagnostic(`N = ${N}, ${keys.length} cells, chi2 = ${statistic.toFixed(1)}, df = ${df}, p = ${pValue.toPrecision(3)}; blocks per sample ${(figures.blocks / N).toFixed(3)}, accepted tokens per block ${(figures.accepted / figures.blocks).toFixed(3)}`);
  assert.ok(pValue > ALPHA, `chi2 = ${statistic}, df = ${df}, p-value = ${pValue}`);
  return { keys, expected };
}

const POWER = 0.9;

/** Rejection rate of the chi-square test (at alpha) on N draws from shifted laws with TV = delta. */
function simulatedPower(keys: string[], p: number[], n: number, alpha: number, delta: number, repeats = 300): Record<string, number> {
  const order = [...p.keys()].sort((a, b) => p[b]! - p[a]!);
  const top = order[0]!;
  const rare = order.slice(Math.ceil(order.length / 2));
  const shifts: Record<string, number[]> = {};
  const move = (from: number[], fromWeights: number[], to: number[], toWeights: number[]): number[] => {
    const q = [...p];
    const fw = fromWeights.reduce((a, b) => a + b, 0);
    const tw = toWeights.reduce((a, b) => a + b, 0);
    from.forEach((i, j) => (q[i]! -= (delta * fromWeights[j]!) / fw));
    to.forEach((i, j) => (q[i]! += (delta * toWeights[j]!) / tw));
    return q;
  };
  shifts["top to rare half"] = move([top], [1], rare, rare.map((i) => p[i]!));
  shifts["top to second"] = move([top], [1], [order[1]!], [1]);
  const y1 = (i: number): string => keys[i]!.split(",")[0]!;
  const marginal = new Map<string, number>();
  keys.forEach((key, i) => marginal.set(y1(i), (marginal.get(y1(i)) ?? 0) + p[i]!));
  const [mode, second] = [...marginal.entries()].sort((a, b) => b[1] - a[1]).map(([token]) => token);
  const ofMode = order.filter((i) => y1(i) === mode);
  const ofSecond = order.filter((i) => y1(i) === second);
  shifts["first token"] = move(ofMode, ofMode.map((i) => p[i]!), ofSecond, ofSecond.map((i) => p[i]!));
  shifts["second token"] = move([ofMode[0]!], [1], ofMode.slice(1), ofMode.slice(1).map((i) => p[i]!));
  const plus: number[] = [];
  const minus: number[] = [];
  let balance = 0;
  for (const i of order) (balance <= 0 ? plus : minus).push(i), (balance += (balance <= 0 ? 1 : -1) * p[i]!);
  shifts["worst case (proportional)"] = move(minus, minus.map((i) => p[i]!), plus, plus.map((i) => p[i]!));
  const random = createRandom(7);
  const power: Record<string, number> = {};
  for (const [name, q] of Object.entries(shifts)) {
    const cumulative: number[] = [];
    let sum = 0;
    for (const value of q) cumulative.push((sum += Math.max(0, value)));
    let rejected = 0;
    for (let r = 0; r < repeats; r++) {
      const counts = new Float64Array(p.length);
      for (let i = 0; i < n; i++) {
        const u = random.next() * sum;
        let lo = 0;
        let hi = cumulative.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cumulative[mid]! > u) hi = mid;
          else lo = mid + 1;
        }
        counts[lo]! += 1;
      }
      if (chiSquareTest(counts, p).pValue < alpha) rejected++;
    }
    power[name] = rejected / repeats;
  }
  return power;
}

describe("SpecTr engine, (K, L) tuner", () => {
  it("measures cost curves at start-up, plans within bounds, and serves through the engine (greedy output unchanged)", async () => {
    const prompt = validationPrompts(20)[0]!;
    let tuner;
    {
      await using lease = leaseSpectrSequences(target.pool, draftPool, 4);
      ({ tuner } = await createSpeculationTuner({ targets: lease.targets, drafts: lease.drafts, prompt, maxK: 4, maxL: 4, rounds: 2 }));
      for (const sequence of [...lease.targets, ...lease.drafts]) assert.equal(sequence.contextTokens.length, 0);
    }
    for (const temperatureZero of [false, true]) {
      const { choice, candidates } = tuner.plan(temperatureZero);
      assert.equal(candidates.length, 16);
      assert.ok(choice.k >= 0 && choice.k <= 4 && choice.l >= 0 && choice.l <= 4 && choice.tokensPerSecond > 0);
    }
    const expected = ids(await plain(prompt));
    await using lease = leaseSpectrSequences(target.pool, draftPool, 4);
    const strategy = new SpectrDecoding({ targets: lease.targets, drafts: lease.drafts, policy: tuner, vocabularySize: target.vocabularySize });
    assert.deepEqual(ids(await generate(lease.targets[0]!, strategy, prompt)), expected);
  });
});

describe("SpecTr engine, cancellation", () => {
  it("aborting mid-generation frees every target and draft sequence, cleared", async () => {
    const prompt = validationPrompts(20)[3]!;
    const controller = new AbortController();
    const lease = leaseSpectrSequences(target.pool, draftPool, 4);
    assert.equal(target.pool.available, SEQUENCES - 4);
    assert.equal(draftPool.available, SEQUENCES - 4);
    const strategy = new SpectrDecoding({ targets: lease.targets, drafts: lease.drafts, policy: fixedSpeculation(4, 4), vocabularySize: target.vocabularySize });
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

describe("the speculation tuner's calibration text", () => {
  it("is the model's own greedy continuation of a document start, so it differs between models", async () => {
    const [sequence] = target.pool.take(1);
    const own = await calibrationText(target, sequence!, 24).finally(() => target.pool.give([sequence!]));
    const start = target.documentStart();
    assert.deepEqual(own.slice(0, start.length), start);
    assert.deepEqual(own.slice(start.length), (await plain(start)).map((decoded) => decoded.token));
    const other = await ServedModel.load(pair.llama, { id: "draft", path: DRAFT, threads: 1, contextSize: CONTEXT, sequences: 1, batchSize: 512 });
    try {
      const [otherSequence] = other.pool.take(1);
      const its = await calibrationText(other, otherSequence!, 24).finally(() => other.pool.give([otherSequence!]));
      assert.notDeepEqual(its, own);
    } finally {
      await other.dispose();
    }
  });
});
