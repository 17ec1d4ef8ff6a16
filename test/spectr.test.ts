/**
 * Sequence-level SpecTr (kernels/spectr). Notation: p = target, q = draft.
 *
 * Exactness is checked by exhaustive enumeration over tiny "language models" (conditional
 * distributions over 3-4 tokens given the last one or two tokens): every K-tuple of draft
 * sequences with its probability under q, and every accept / reject / residual / bonus branch
 * of the real selectBlock, each with its exact probability. The emitted tokens must follow the
 * target's joint law to 1e-12; a block that emits one token is followed by a second block,
 * enumerated the same way from the new context. Deliberately wrong variants must fail it.
 *
 * Also: L = 0 and K = 1 against closed forms; a seeded chi-square test of the first two tokens
 * over 2e5 sampled blocks (with a power check); temperature 0 against greedy decoding; the
 * cost model on hand-computed cases; the online estimator against the exact survivor chain.
 * Every assert.ok carries a message: without one, node re-reads the source to build it. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chiSquareTest } from "../kernels/kseq/chi-square.ts";
import {
  beta,
  gammaFromBeta,
  pAcc,
  planKseq,
  probabilityOf,
  residualWeights,
  rhoStar,
  sampleSparse,
  sparseFromDense,
  uniformChance,
  type Chance,
  type KseqPlan,
  type SparseDistribution,
} from "../kernels/kseq/index.ts";
import { createRandom, type Random } from "../kernels/random.ts";
import {
  acceptanceRateByPosition,
  argmaxToken,
  blockEfficiency,
  chooseSpeculation,
  createAcceptanceStats,
  estimatedAcceptanceModel,
  evaluateSpeculation,
  greedyContinuations,
  iidAcceptanceModel,
  kseqAcceptanceModel,
  kseqSurvivorTransition,
  observeBlock,
  observedBlockEfficiency,
  plainDecoding,
  selectBlock,
  SurvivorMismatchError,
  tableCostCurve,
  type KseqPlanner,
  type SelectBlockOptions,
  type SpectrBlock,
  type SpectrBlockResult,
} from "../kernels/spectr/index.ts";

const EXACT = 1e-12;

/** |actual - expected| <= tolerance. (Every assert.ok here has a message: without one, node re-reads the source.) */
function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

// ---------------------------------------------------------------- tiny language models

/** next(context): the distribution of the next token; the same object for the same state. */
interface LanguageModel {
  readonly vocabulary: number;
  next(context: readonly number[]): SparseDistribution;
}

/**
 * A random model whose state is the last `order` tokens (0: context-free), some entries 0.
 * Each state's row comes from its own seed, so it does not depend on which test asked first.
 */
function randomModel(seed: number, vocabulary: number, order: number, zeroChance: number): LanguageModel {
  const table = new Map<string, SparseDistribution>();
  return {
    vocabulary,
    next(context) {
      const state = order === 0 ? [] : context.slice(-order);
      const key = state.join(",");
      let d = table.get(key);
      if (d === undefined) {
        const random = createRandom(state.reduce((h, x) => Math.imul(h ^ (x + 1), 0x01000193), Math.imul(seed, 0x9e3779b1)));
        const weights = Array.from({ length: vocabulary }, () => (random.next() < zeroChance ? 0 : -Math.log(1 - random.next())));
        if (!weights.some((w) => w > 0)) weights[random.int(vocabulary)] = 1;
        const total = weights.reduce((a, w) => a + w, 0);
        d = sparseFromDense(weights.map((w) => w / total));
        table.set(key, d);
      }
      return d;
    },
  };
}

/** (1 - w) target + w noise: a draft that agrees with the target more or less. */
function noisyDraft(target: LanguageModel, noise: LanguageModel, w: number): LanguageModel {
  const table = new Map<SparseDistribution, Map<SparseDistribution, SparseDistribution>>();
  return {
    vocabulary: target.vocabulary,
    next(context) {
      const a = target.next(context);
      const b = noise.next(context);
      let inner = table.get(a);
      if (inner === undefined) table.set(a, (inner = new Map()));
      let d = inner.get(b);
      if (d === undefined) {
        const row = Array.from({ length: target.vocabulary }, (_, x) => (1 - w) * probabilityOf(a, x) + w * probabilityOf(b, x));
        inner.set(b, (d = sparseFromDense(row)));
      }
      return d;
    },
  };
}

/** The block's inputs read lazily off the models: q_{k,t}, p_{k,t} after context + draft k's prefix. */
function blockInput(context: readonly number[], drafts: ReadonlyArray<readonly number[]>, target: LanguageModel, draft: LanguageModel): SpectrBlock {
  const prefix = (k: number, t: number) => [...context, ...drafts[k]!.slice(0, t)];
  return { drafts, p: (k, t) => target.next(prefix(k, t)), q: (k, t) => draft.next(prefix(k, t)) };
}

/** Plans K-SEQ once per (p, q, k): the enumeration replays the same positions many times. */
function cachedPlanner(plan: KseqPlanner = (p, q, k) => planKseq(p, q, k)): KseqPlanner {
  const cache = new Map<SparseDistribution, Map<SparseDistribution, Map<number, KseqPlan>>>();
  return (p, q, k, t) => {
    let byQ = cache.get(p);
    if (byQ === undefined) cache.set(p, (byQ = new Map()));
    let byK = byQ.get(q);
    if (byK === undefined) byQ.set(q, (byK = new Map()));
    let found = byK.get(k);
    if (found === undefined) byK.set(k, (found = plan(p, q, k, t)));
    return found;
  };
}

// ---------------------------------------------------------------- exhaustive enumeration

/** Thrown by the scripted Chance at the first decision its script does not cover yet. */
class Fork {
  constructor(readonly branches: ReadonlyArray<readonly [choice: boolean | number, weight: number]>) {}
}

/**
 * Every outcome of `run` with its exact probability. Depth-first over scripts of decisions:
 * `run` replays a script, and the first decision beyond it forks into its positive branches.
 */
function outcomes<T>(run: (chance: Chance) => T): Array<readonly [T, number]> {
  const found: Array<readonly [T, number]> = [];
  const stack: Array<readonly [ReadonlyArray<boolean | number>, number]> = [[[], 1]];
  while (stack.length > 0) {
    const [script, weight] = stack.pop()!;
    let step = 0;
    const decide = <C extends boolean | number>(fork: () => Fork): C => {
      if (step < script.length) return script[step++] as C;
      throw fork();
    };
    const chance: Chance = {
      bernoulli: (pr) => decide<boolean>(() => new Fork([[true, pr], [false, 1 - pr]])),
      categorical: (d) => decide<number>(() => new Fork(Array.from(d.tokens, (x, i) => [x, d.probs[i]!] as const))),
    };
    try {
      found.push([run(chance), weight]);
    } catch (error) {
      if (!(error instanceof Fork)) throw error;
      for (const [choice, w] of error.branches) if (w > 0) stack.push([[...script, choice], weight * w]);
    }
  }
  return found;
}

/** Every K-tuple of length-L draft sequences sampled from the draft model, with its probability. */
function draftTuples(context: readonly number[], draft: LanguageModel, k: number, l: number): Array<{ drafts: number[][]; probability: number }> {
  let sequences = [{ tokens: [] as number[], probability: 1 }];
  for (let t = 0; t < l; t++) {
    sequences = sequences.flatMap(({ tokens, probability }) => {
      const q = draft.next([...context, ...tokens]);
      return Array.from(q.tokens, (x, i) => ({ tokens: [...tokens, x], probability: probability * q.probs[i]! })).filter((s) => s.probability > 0);
    });
  }
  let tuples = [{ drafts: [] as number[][], probability: 1 }];
  for (let i = 0; i < k; i++) {
    tuples = tuples.flatMap((tuple) => sequences.map((s) => ({ drafts: [...tuple.drafts, s.tokens], probability: tuple.probability * s.probability })));
  }
  return tuples;
}

interface Setting {
  target: LanguageModel;
  draft: LanguageModel;
  k: number;
  l: number;
  options?: SelectBlockOptions;
  /** Turns the honest drafts into what a broken engine would pass. */
  mangle?: (input: SpectrBlock) => SpectrBlock;
}

/** The exact law of one block from `context`: emitted tokens (joined by ",") -> probability. */
function blockLaw(context: readonly number[], s: Setting, planner: KseqPlanner): Map<string, number> {
  const law = new Map<string, number>();
  for (const { drafts, probability } of draftTuples(context, s.draft, s.k, s.l)) {
    const input = blockInput(context, drafts, s.target, s.draft);
    const block = s.mangle?.(input) ?? input;
    for (const [result, weight] of outcomes((chance) => selectBlock(block, chance, { planner, ...s.options }))) {
      const key = result.tokens.join(",");
      law.set(key, (law.get(key) ?? 0) + probability * weight);
    }
  }
  return law;
}

const tokensOf = (key: string): number[] => key.split(",").map(Number);

/** The law of the first two emitted tokens from `context`, with a second block where the first emits one. */
function firstTwoLaw(context: readonly number[], s: Setting): { pairs: Map<string, number>; first: Map<string, number> } {
  const planner = cachedPlanner();
  const firstTokens = new Map<string, Map<number, number>>();
  const nextFirst = (ctx: readonly number[]): Map<number, number> => {
    const key = ctx.join(",");
    let law = firstTokens.get(key);
    if (law === undefined) {
      law = new Map();
      for (const [tokens, pr] of blockLaw(ctx, s, planner)) {
        const y = tokensOf(tokens)[0]!;
        law.set(y, (law.get(y) ?? 0) + pr);
      }
      firstTokens.set(key, law);
    }
    return law;
  };
  const first = blockLaw(context, s, planner);
  const pairs = new Map<string, number>();
  const add = (key: string, pr: number) => pairs.set(key, (pairs.get(key) ?? 0) + pr);
  for (const [key, pr] of first) {
    const tokens = tokensOf(key);
    if (tokens.length >= 2) add(`${tokens[0]},${tokens[1]}`, pr);
    else for (const [y, pr2] of nextFirst([...context, tokens[0]!])) add(`${tokens[0]},${y}`, pr * pr2);
  }
  return { pairs, first };
}

/** The target's joint law of the next n tokens. */
function targetLaw(context: readonly number[], target: LanguageModel, n: number): Map<string, number> {
  let law = new Map<string, number>([["", 1]]);
  for (let i = 0; i < n; i++) {
    const next = new Map<string, number>();
    for (const [key, pr] of law) {
      const tokens = key === "" ? [] : tokensOf(key);
      const p = target.next([...context, ...tokens]);
      p.tokens.forEach((x, j) => {
        if (p.probs[j]! > 0) next.set([...tokens, x].join(","), pr * p.probs[j]!);
      });
    }
    law = next;
  }
  return law;
}

/** Each emitted block completed to n tokens with the target's own conditionals. */
function completedLaw(context: readonly number[], block: Map<string, number>, target: LanguageModel, n: number): Map<string, number> {
  const law = new Map<string, number>();
  for (const [key, pr] of block) {
    const tokens = tokensOf(key);
    for (const [rest, pr2] of targetLaw([...context, ...tokens], target, n - tokens.length)) {
      const full = rest === "" ? key : `${key},${rest}`;
      law.set(full, (law.get(full) ?? 0) + pr * pr2);
    }
  }
  return law;
}

function maxDifference(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  let worst = 0;
  for (const key of new Set([...a.keys(), ...b.keys()])) worst = Math.max(worst, Math.abs((a.get(key) ?? 0) - (b.get(key) ?? 0)));
  return worst;
}

/** E[tokens emitted] of a block law. */
function meanLength(law: ReadonlyMap<string, number>): number {
  let mean = 0;
  for (const [key, pr] of law) mean += pr * tokensOf(key).length;
  return mean;
}

// Two families: 3 tokens with a 2-token state, and 4 tokens with a 1-token state and edge
// cases; the root states have full support and the states after them zeros in p where q > 0,
// in q where p > 0, or both.
const trigramTarget = randomModel(9, 3, 2, 0.2);
const trigramDraft = randomModel(10, 3, 2, 0.2);
const bigramTarget = randomModel(3, 4, 1, 0.3);
const bigramDraft = noisyDraft(bigramTarget, randomModel(4, 4, 1, 0.3), 0.5);
const FAMILIES = [
  { name: "|V| = 3, state = last 2 tokens", target: trigramTarget, draft: trigramDraft, context: [1, 2] },
  { name: "|V| = 4, state = last token, zeros", target: bigramTarget, draft: bigramDraft, context: [2] },
];

describe("SpecTr blocks: exact by exhaustive enumeration", () => {
  for (const { name, target, draft, context } of FAMILIES) {
    for (const k of [1, 2, 3]) {
      for (const l of [1, 2]) {
        it(`${name}, K = ${k}, L = ${l}: first two tokens and the whole block follow the target`, () => {
          const setting = { target, draft, k, l };
          const { pairs, first } = firstTwoLaw(context, setting);
          const pairError = maxDifference(pairs, targetLaw(context, target, 2));
          assert.ok(pairError <= EXACT, `first two tokens: max error ${pairError}`);
          const blockError = maxDifference(completedLaw(context, first, target, l + 1), targetLaw(context, target, l + 1));
          assert.ok(blockError <= EXACT, `whole block: max error ${blockError}`);
          assert.ok(meanLength(first) > 1, "some drafts were accepted");
        });
      }
    }
  }

  it("context-free models: the exact K-SEQ survivor chain gives the enumerated block efficiency", () => {
    const target = randomModel(5, 3, 0, 0.1);
    const draft = randomModel(6, 3, 0, 0.1);
    const model = kseqAcceptanceModel([{ p: target.next([]), q: draft.next([]) }]);
    for (const k of [1, 2, 3]) {
      for (const l of [1, 2]) {
        const law = blockLaw([], { target, draft, k, l }, cachedPlanner());
        const predicted = blockEfficiency(model, k, l);
        assert.ok(Math.abs(meanLength(law) - predicted) <= EXACT, `K = ${k}, L = ${l}: ${meanLength(law)} vs ${predicted}`);
      }
    }
  });
});

describe("SpecTr special cases", () => {
  it("L = 0 samples p and never reads q", () => {
    for (const { target, context } of FAMILIES) {
      for (const k of [1, 2, 3]) {
        const p = target.next(context);
        const block: SpectrBlock = {
          drafts: Array.from({ length: k }, () => []),
          p: (_, t) => (t === 0 ? p : assert.fail("p read beyond position 0")),
          q: () => assert.fail("q read with L = 0"),
        };
        const law = new Map<number, number>();
        for (const [result, pr] of outcomes((chance) => selectBlock(block, chance))) {
          assert.equal(result.tokens.length, 1);
          assert.equal(result.bonus, true);
          law.set(result.tokens[0]!, (law.get(result.tokens[0]!) ?? 0) + pr);
        }
        p.tokens.forEach((x, i) => near(law.get(x) ?? 0, p.probs[i]!, EXACT, `K = ${k}: P(${x})`));
      }
    }
  });

  it("K = 1 is standard speculative sampling: acceptance sum min(p, q) per position, residual max(0, p - q)", () => {
    for (const { target, draft, context } of FAMILIES) {
      const accepted0 = new Map<number, number>();
      let acceptedBoth = 0;
      let stopped0 = new Map<number, number>();
      for (const { drafts, probability } of draftTuples(context, draft, 1, 2)) {
        for (const [result, pr] of outcomes((chance) => selectBlock(blockInput(context, drafts, target, draft), chance))) {
          const y = result.tokens[0]!;
          const mass = probability * pr;
          if (result.accepted[0]) accepted0.set(y, (accepted0.get(y) ?? 0) + mass);
          else stopped0.set(y, (stopped0.get(y) ?? 0) + mass);
          if (result.accepted[1]) acceptedBoth += mass;
          // With one draft, a draft survives exactly when it is accepted.
          result.positions.forEach((position, t) => assert.equal(position.survivorsAfter, result.accepted[t] ? 1 : 0));
        }
      }
      const p = target.next(context);
      const q = draft.next(context);
      let expectedBoth = 0;
      for (let y = 0; y < target.vocabulary; y++) {
        const overlap = Math.min(probabilityOf(p, y), probabilityOf(q, y));
        assert.ok(Math.abs((accepted0.get(y) ?? 0) - overlap) <= EXACT, `P(accept ${y}) = min(p, q)`);
        assert.ok(Math.abs((stopped0.get(y) ?? 0) - Math.max(0, probabilityOf(p, y) - probabilityOf(q, y))) <= EXACT, `residual at ${y}`);
        expectedBoth += overlap * beta(target.next([...context, y]), draft.next([...context, y]), 1);
      }
      assert.ok(Math.abs(acceptedBoth - expectedBoth) <= EXACT, `P(both accepted) ${acceptedBoth} vs ${expectedBoth}`);
    }
  });

  it("a residual token equal to a rejected draft keeps it alive: never at rho*, exact at rho = k where it happens", () => {
    const { target, draft, context } = FAMILIES[1]!;
    const residualMatch = (planner: KseqPlanner): number => {
      let mass = 0;
      for (const { drafts, probability } of draftTuples(context, draft, 3, 1)) {
        const input = blockInput(context, drafts, target, draft);
        for (const [result, pr] of outcomes((chance) => selectBlock(input, chance, { planner }))) {
          if (result.positions.some((position) => position.acceptedDraft < 0 && position.survivorsAfter > 0)) mass += probability * pr;
        }
      }
      return mass;
    };
    // At rho*, gamma = rho*: the residual is 0 wherever p/rho* <= q, and a draft anywhere else is always accepted.
    near(residualMatch(cachedPlanner()), 0, 1e-12, "P(residual token held by a draft) at rho*");
    const atK = cachedPlanner((p, q, k) => planKseq(p, q, k, { rho: k }));
    assert.ok(residualMatch(atK) > 1e-3, "rho = k: residual tokens held by drafts");
    const { pairs, first } = firstTwoLaw(context, { target, draft, k: 3, l: 2, options: { planner: atK } });
    near(maxDifference(pairs, targetLaw(context, target, 2)), 0, EXACT, "rho = k: first two tokens");
    near(maxDifference(completedLaw(context, first, target, 3), targetLaw(context, target, 3)), 0, EXACT, "rho = k: whole block");
  });

  it("reports survivors, per-position outcomes and draftTokens = emitted - 1", () => {
    const { target, draft, context } = FAMILIES[0]!;
    for (const { drafts } of draftTuples(context, draft, 3, 2).slice(0, 60)) {
      for (const [result] of outcomes((chance) => selectBlock(blockInput(context, drafts, target, draft), chance))) {
        assert.equal(result.draftTokens, result.tokens.length - 1);
        assert.equal(result.positions.length, result.bonus ? 2 : result.tokens.length);
        for (const s of result.survivors) assert.deepEqual(drafts[s]!.slice(0, result.draftTokens), result.tokens.slice(0, result.draftTokens));
        const holding = drafts.filter((d) => d.slice(0, result.draftTokens).join() === result.tokens.slice(0, result.draftTokens).join()).length;
        assert.equal(result.survivors.length, holding);
        result.positions.forEach((position, t) => {
          if (position.acceptedDraft >= 0) assert.equal(drafts[position.acceptedDraft]![t], result.tokens[t]);
          assert.ok(position.survivorsAfter <= position.survivorsBefore, "survivors never grow");
        });
      }
    }
  });
});

describe("a wrong SpecTr is caught by the enumeration", () => {
  const { target, draft, context } = FAMILIES[0]!;
  const pairError = (s: Setting) => maxDifference(firstTwoLaw(context, s).pairs, targetLaw(context, target, 2));

  it("q and p of the first draft instead of a survivor's are biased", () => {
    const firstDraft = (input: SpectrBlock): SpectrBlock => {
      const { p, q } = input as { p: (k: number, t: number) => SparseDistribution; q: (k: number, t: number) => SparseDistribution };
      return { ...input, p: (_, t) => p(0, t), q: (_, t) => q(0, t) };
    };
    const error = pairError({ target, draft, k: 3, l: 2, mangle: firstDraft });
    assert.ok(error > 1e-4, `error ${error}`);
  });

  it("rows wired to the wrong drafts: SurvivorMismatchError, and biased when unchecked", () => {
    const rotated = (input: SpectrBlock): SpectrBlock => {
      const { p, q } = input as { p: (k: number, t: number) => SparseDistribution; q: (k: number, t: number) => SparseDistribution };
      const n = input.drafts.length;
      return { ...input, p: (k, t) => p((k + 1) % n, t), q: (k, t) => q((k + 1) % n, t) };
    };
    assert.throws(() => pairError({ target, draft, k: 3, l: 2, mangle: rotated }), SurvivorMismatchError);
    const error = pairError({ target, draft, k: 3, l: 2, mangle: rotated, options: { survivorTolerance: Infinity } });
    assert.ok(error > 1e-4, `error ${error}`);
  });

  it("de-duplicated drafts (assuming distinct drafts) are biased", () => {
    const distinct = (input: SpectrBlock): SpectrBlock => {
      const unique = new Map(input.drafts.map((d) => [Array.from(d).join(), Array.from(d)] as const));
      return blockInput(context, [...unique.values()], target, draft);
    };
    const error = pairError({ target, draft, k: 3, l: 2, mangle: distinct });
    assert.ok(error > 1e-4, `error ${error}`);
  });

  it("rho = 1 for every k (standard speculative sampling's) with a clipped residual is biased", () => {
    const clipped: KseqPlanner = (p, q, k) => {
      const good = planKseq(p, q, k);
      const b = beta(p, q, 1);
      const gamma = gammaFromBeta(b, k);
      const weights = residualWeights(p, q, 1, gamma).probs.map((w) => Math.max(0, w));
      const mass = weights.reduce((a, w) => a + w, 0);
      const residual = mass > 0 ? { tokens: p.tokens, probs: weights.map((w) => w / mass) } : p;
      return { ...good, rho: 1, beta: b, gamma, acceptance: pAcc(p, q, 1, k), residual };
    };
    const error = pairError({ target, draft, k: 3, l: 2, options: { planner: cachedPlanner(clipped) } });
    assert.ok(error > 1e-4, `error ${error}`);
  });

  it("a stale rho*(K) as survivors drop is still exact (rho*(k) grows with k), with lower K-SEQ acceptance", () => {
    const stale: KseqPlanner = (p, q, k) => planKseq(p, q, k, { rho: Math.max(rhoStar(p, q, k), rhoStar(p, q, 3)) });
    const { pairs } = firstTwoLaw(context, { target, draft, k: 3, l: 2, options: { planner: cachedPlanner(stale) } });
    near(maxDifference(pairs, targetLaw(context, target, 2)), 0, EXACT, "stale rho: error");
    const p = target.next(context);
    const q = draft.next(context);
    for (const k of [1, 2]) {
      assert.ok(rhoStar(p, q, k) <= rhoStar(p, q, k + 1), `rho*(${k}) <= rho*(${k + 1})`);
      assert.ok(stale(p, q, k, 0).acceptance <= planKseq(p, q, k).acceptance + 1e-15, `k = ${k}: stale accepts more`);
    }
  });
});

// ---------------------------------------------------------------- sampling

/** Samples K drafts of length L from the draft model. */
function sampleDrafts(context: readonly number[], draft: LanguageModel, k: number, l: number, random: Random): number[][] {
  return Array.from({ length: k }, () => {
    const tokens: number[] = [];
    for (let t = 0; t < l; t++) tokens.push(sampleSparse(draft.next([...context, ...tokens]), random.next()));
    return tokens;
  });
}

describe("SpecTr sampling: the first two tokens over 2e5 blocks (|V| = 20, K = 4, L = 3)", () => {
  const BLOCKS = 200_000;
  const V = 20;
  const target = randomModel(7, V, 1, 0.2);
  const draft = noisyDraft(target, randomModel(8, V, 1, 0.2), 0.4);
  const context = [5];
  const expected = new Float64Array(V * V);
  const p0 = target.next(context);
  for (let a = 0; a < V; a++) for (let b = 0; b < V; b++) expected[a * V + b] = probabilityOf(p0, a) * probabilityOf(target.next([a]), b);

  it("bigram frequencies fit the target's joint (chi-square p-value > 1e-4)", () => {
    const random = createRandom(99);
    const chance = uniformChance(() => random.next());
    const planner = cachedPlanner();
    const counts = new Float64Array(V * V);
    let emitted = 0;
    const run = (ctx: readonly number[]): SpectrBlockResult => {
      const result = selectBlock(blockInput(ctx, sampleDrafts(ctx, draft, 4, 3, random), target, draft), chance, { planner });
      emitted += result.tokens.length;
      return result;
    };
    for (let n = 0; n < BLOCKS; n++) {
      const tokens = run(context).tokens;
      const second = tokens.length >= 2 ? tokens[1]! : run([...context, tokens[0]!]).tokens[0]!;
      counts[tokens[0]! * V + second]!++;
    }
    const { statistic, df, pValue } = chiSquareTest(counts, expected);
    assert.ok(pValue > 1e-4, `chi2 = ${statistic}, df = ${df}, p-value = ${pValue}`);
    assert.ok(df > 100, `df = ${df}`);
    assert.ok(emitted / BLOCKS > 2, `tokens per block ${emitted / BLOCKS}`);
  });

  it("has the power to detect a joint 2% away in total variation", () => {
    // Move 0.02 of mass from the odd cells to the even ones, proportionally.
    let even = 0;
    expected.forEach((e, i) => (even += i % 2 === 0 ? e : 0));
    const shifted = expected.map((e, i) => (i % 2 === 0 ? e * (1 + 0.02 / even) : e * (1 - 0.02 / (1 - even))));
    const cumulative = new Float64Array(shifted.length);
    shifted.reduce((sum, e, i) => (cumulative[i] = sum + e), 0);
    const random = createRandom(100);
    const counts = new Float64Array(V * V);
    for (let n = 0; n < BLOCKS; n++) {
      const u = random.next() * cumulative[cumulative.length - 1]!;
      let lo = 0;
      let hi = cumulative.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cumulative[mid]! > u) hi = mid;
        else lo = mid + 1;
      }
      counts[lo]!++;
    }
    const { pValue } = chiSquareTest(counts, expected);
    assert.ok(pValue < 1e-4, `p-value ${pValue}`);
  });
});

// ---------------------------------------------------------------- temperature 0

describe("temperature 0: SpecTr equals greedy decoding", () => {
  const V = 10;
  const target = randomModel(11, V, 2, 0.2);
  const draft = noisyDraft(target, randomModel(12, V, 2, 0.2), 0.6);
  const greedy = (context: readonly number[], n: number): number[] => {
    const out = [...context];
    while (out.length < context.length + n) out.push(argmaxToken(target.next(out)));
    return out.slice(context.length);
  };
  const pointMass = (d: SparseDistribution): SparseDistribution => ({ tokens: Int32Array.of(argmaxToken(d)), probs: Float64Array.of(1) });

  for (const mode of ["flag", "point masses"] as const) {
    it(`${mode}: K = 1..4, L = 1..4, 40 contexts, 24 tokens each`, () => {
      const random = createRandom(13);
      let blocks = 0;
      let emitted = 0;
      for (let c = 0; c < 40; c++) {
        const context = [random.int(V), random.int(V)];
        for (let k = 1; k <= 4; k++) {
          for (let l = 1; l <= 4; l++) {
            const out = [...context];
            while (out.length < context.length + 24) {
              const drafts = greedyContinuations(k, l, (prefix) => draft.next([...out, ...prefix]));
              assert.equal(new Set(drafts.map((d) => d[0])).size, drafts.length, "distinct first tokens");
              const input = blockInput(out, drafts, target, draft);
              const block: SpectrBlock =
                mode === "flag"
                  ? { drafts, p: input.p }
                  : { drafts, p: (i, t) => pointMass((input.p as (i: number, t: number) => SparseDistribution)(i, t)), q: input.q };
              const chance: Chance = { bernoulli: () => assert.fail("no coin at temperature 0"), categorical: (d) => argmaxToken(d) };
              const result = selectBlock(block, chance, { temperatureZero: mode === "flag" });
              out.push(...result.tokens);
              blocks++;
              emitted += result.tokens.length;
            }
            assert.deepEqual(out.slice(context.length, context.length + 24), greedy(context, 24), `context ${context}, K = ${k}, L = ${l}`);
          }
        }
      }
      assert.ok(emitted / blocks > 1.5, `tokens per block ${emitted / blocks}`);
    });
  }
});

// ---------------------------------------------------------------- choosing K and L

describe("cost model", () => {
  const linear = (fixed: number, perItem: number) => (n: number) => fixed + perItem * n;

  it("tokens/s on a hand-computed case", () => {
    const costs = { draftStepMs: linear(2, 1), targetMs: linear(20, 0.5) };
    // K = 1, L = 2, alpha = 0.8: E = 1 + 0.8 + 0.64 = 2.44 tokens; 2 (2 + 1) + 20 + 0.5 * 3 = 27.5 ms.
    const one = evaluateSpeculation(costs, iidAcceptanceModel({ alpha: 0.8 }), 1, 2);
    near(one.blockEfficiency, 2.44, 1e-12, "E");
    near(one.msPerBlock, 27.5, 1e-12, "ms per block");
    near(one.tokensPerSecond, 2440 / 27.5, 1e-9, "tokens/s");
    // K = 2, L = 1, alpha = 0.5, agreement 0.5: P(accept) = 0.75, E = 1.75; 1 (2 + 2) + 20 + 0.5 * 4 = 26 ms.
    const two = evaluateSpeculation(costs, iidAcceptanceModel({ alpha: 0.5, agreement: 0.5 }), 2, 1);
    near(two.blockEfficiency, 1.75, 1e-12, "E");
    near(two.msPerBlock, 26, 1e-12, "ms per block");
    // K = 2, L = 2: survivors after position 0 are 2 w.p. 0.375, 1 w.p. 0.375; position 1 keeps
    // one with 0.375 * 0.75 + 0.375 * 0.5 = 0.46875. E = 1 + 0.75 + 0.46875.
    near(blockEfficiency(iidAcceptanceModel({ alpha: 0.5, agreement: 0.5 }), 2, 2), 2.21875, 1e-12, "E(2, 2)");
    assert.equal(plainDecoding(costs).tokensPerSecond, 1000 / 20.5);
    // K = 1 is the classic (1 - alpha^(L+1)) / (1 - alpha).
    for (const l of [1, 3, 8]) near(blockEfficiency(iidAcceptanceModel({ alpha: 0.7 }), 1, l), (1 - 0.7 ** (l + 1)) / 0.3, 1e-12, `E(1, ${l})`);
    // Per-position rates (the last repeats): 1 + 0.9 + 0.9 * 0.6 + 0.9 * 0.6 * 0.6.
    near(blockEfficiency(iidAcceptanceModel({ alpha: [0.9, 0.6] }), 1, 3), 1 + 0.9 + 0.54 + 0.324, 1e-12, "E by position");
  });

  it("picks plain decoding when drafting is expensive or acceptance low, speculation when cheap and high", () => {
    const cheapDraft = { draftStepMs: linear(1, 0.2), targetMs: linear(30, 1) };
    const dearDraft = { draftStepMs: linear(25, 2), targetMs: linear(30, 1) };
    const high = iidAcceptanceModel({ alpha: 0.85, agreement: 0.6 });
    const low = iidAcceptanceModel({ alpha: 0.05 });
    const fast = chooseSpeculation(cheapDraft, high);
    assert.ok(fast.choice.k >= 1 && fast.choice.l >= 2, `chose ${JSON.stringify(fast.choice)}`);
    assert.ok(fast.choice.tokensPerSecond > 2 * fast.plain.tokensPerSecond, "more than twice as fast");
    assert.deepEqual([chooseSpeculation(dearDraft, high).choice.k, chooseSpeculation(dearDraft, high).choice.l], [0, 0]);
    assert.deepEqual([chooseSpeculation(cheapDraft, low).choice.k, chooseSpeculation(cheapDraft, low).choice.l], [0, 0]);
    // A target whose cost grows steeply with the batch (a 2-core CPU) favours small K and L.
    const cpu = { draftStepMs: linear(1, 0.5), targetMs: tableCostCurve([[1, 30], [4, 40], [16, 120], [64, 500]]) };
    const small = chooseSpeculation(cpu, high).choice;
    assert.ok(small.k * (small.l + 1) <= 16, `chose ${JSON.stringify(small)}`);
  });

  it("table cost curves interpolate, hold below the first point and extrapolate upward", () => {
    const curve = tableCostCurve([[4, 40], [1, 30], [16, 120]]);
    assert.equal(curve(1), 30);
    assert.equal(curve(0.5), 30);
    near(curve(2.5), 35, 1e-12, "curve(2.5)");
    near(curve(10), 80, 1e-12, "curve(10)");
    near(curve(22), 160, 1e-12, "curve(22)");
  });

  it("K-SEQ transitions: a distribution, K = 1 is sum min(p, q), more drafts never hurt", () => {
    for (let trial = 0; trial < 20; trial++) {
      const model = randomModel(100 + 2 * trial, 6, 0, 0.2);
      const p = model.next([]);
      const q = randomModel(101 + 2 * trial, 6, 0, 0.2).next([]);
      const one = kseqSurvivorTransition(p, q, 1);
      near(one[1]!, beta(p, q, 1), 1e-14, "K = 1 survival");
      let last = 0;
      for (const k of [1, 2, 3, 4, 6]) {
        const row = kseqSurvivorTransition(p, q, k);
        near(row.reduce((a, b) => a + b, 0), 1, 1e-12, `K = ${k}: total`);
        assert.ok(1 - row[0]! >= planKseq(p, q, k).acceptance - 1e-12, "survival >= acceptance (residual matches add)");
        assert.ok(1 - row[0]! >= last - 1e-12, `K = ${k}: survival decreased`);
        last = 1 - row[0]!;
      }
    }
  });
});

describe("online acceptance estimator", () => {
  it("converges to the exact model from observed blocks and adapts when traffic changes", () => {
    const run = (target: LanguageModel, draft: LanguageModel, blocks: number, seed: number, stats: ReturnType<typeof createAcceptanceStats>) => {
      const random = createRandom(seed);
      const chance = uniformChance(() => random.next());
      const planner = cachedPlanner();
      for (let n = 0; n < blocks; n++) stats = observeBlock(stats, selectBlock(blockInput([], sampleDrafts([], draft, 3, 3, random), target, draft), chance, { planner }));
      return stats;
    };
    const prior = iidAcceptanceModel({ alpha: 0.5 });
    const target = randomModel(31, 8, 0, 0);
    const good = noisyDraft(target, randomModel(32, 8, 0, 0), 0.2);
    const bad = randomModel(33, 8, 0, 0.5);
    const exactGood = blockEfficiency(kseqAcceptanceModel([{ p: target.next([]), q: good.next([]) }]), 3, 3);
    const exactBad = blockEfficiency(kseqAcceptanceModel([{ p: target.next([]), q: bad.next([]) }]), 3, 3);
    let stats = run(target, good, 3000, 1, createAcceptanceStats({ maxK: 4, maxL: 3, halfLife: 300 }));
    const estimate = (s: typeof stats) => blockEfficiency(estimatedAcceptanceModel(s, prior), 3, 3);
    assert.ok(Math.abs(estimate(stats) - exactGood) < 0.1, `estimated ${estimate(stats)} vs exact ${exactGood}`);
    near(observedBlockEfficiency(stats), exactGood, 0.1, "observed tokens per block");
    const rates = acceptanceRateByPosition(stats);
    assert.ok(rates[0]! > rates[2]! - 0.05 && rates[0]! <= 1, `rates ${rates}`);
    stats = run(target, bad, 3000, 2, stats);
    assert.ok(Math.abs(estimate(stats) - exactBad) < 0.1, `after the change: ${estimate(stats)} vs exact ${exactBad}`);
    // K = 4 was never served: the prior fills in.
    const row = estimatedAcceptanceModel(stats, prior).survivorTransition(4, 0);
    near(Array.from(row).reduce((a, b) => a + b, 0), 1, 1e-12, "prior row total");
  });
});
