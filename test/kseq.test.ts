/**
 * Exactness of token-level K-SEQ (kernels/kseq). Notation: p = target, q = draft.
 *
 * - Exhaustive: on vocabularies of 3..5 tokens, every k-tuple of drafts and every
 *   accept/reject/residual branch of the real selection code is enumerated with its exact
 *   probability; the output must equal p to 1e-12, absolute and relative to p(x).
 * - rho below rho* must make the residual negative; deliberately wrong plans must fail.
 * - Sampling: chi-square goodness of fit over 1e6 seeded draws per setting.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chiSquareSurvival, chiSquareTest } from "../kernels/kseq/chi-square.ts";
import {
  acceptanceProbability,
  beta,
  betaCurve,
  evaluateBetaCurve,
  gammaFromBeta,
  greedyDrafts,
  kseqOutputDistribution,
  kseqSelect,
  NegativeResidualError,
  overlap,
  pAcc,
  planKseq,
  probabilityOf,
  rhoObjective,
  rhoStar,
  RESIDUAL_TOLERANCE,
  RHO_TOLERANCE,
  residualWeight,
  residualWeights,
  sampleSparse,
  selectWithPlan,
  sparseFromDense,
  sparseFromEntries,
  uniformChance,
  type Chance,
  type KseqPlan,
  type SparseDistribution,
} from "../kernels/kseq/index.ts";
import { createRandom, type Random } from "../kernels/random.ts";

// ---------------------------------------------------------------- distributions for the tests

/** Dirichlet(1) over `size` tokens (ids spaced out, not 0..n-1), some set to exactly 0. */
function randomDistribution(random: Random, size: number, zeroChance = 0): SparseDistribution {
  const weights: number[] = Array.from({ length: size }, () => (random.next() < zeroChance ? 0 : -Math.log(1 - random.next())));
  if (!weights.some((w) => w > 0)) weights[random.int(size)] = 1;
  const total = weights.reduce((a, b) => a + b, 0);
  return sparseFromEntries(weights.map((w, i) => [3 + 7 * i, w / total] as const));
}

const dense = (...row: number[]): SparseDistribution => {
  const total = row.reduce((a, b) => a + b, 0);
  return sparseFromEntries(row.map((w, i) => [3 + 7 * i, w / total] as const));
};

function zipf(size: number, exponent: number, shift: number): SparseDistribution {
  return dense(...Array.from({ length: size }, (_, i) => 1 / (((i + shift) % size) + 1) ** exponent));
}

interface Case {
  name: string;
  p: SparseDistribution;
  q: SparseDistribution;
}

const EDGE_CASES: Case[] = [
  { name: "q has zeros where p > 0", p: dense(0.3, 0.3, 0.2, 0.2), q: dense(0.7, 0, 0.3, 0) },
  { name: "p has zeros where q > 0", p: dense(0.6, 0, 0.4, 0), q: dense(0.1, 0.4, 0.2, 0.3) },
  { name: "p == q", p: dense(0.5, 0.25, 0.125, 0.125), q: dense(0.5, 0.25, 0.125, 0.125) },
  { name: "near-disjoint supports", p: dense(0.5, 0.5 - 1e-9, 1e-9, 0), q: dense(0, 1e-9, 0.5, 0.5 - 1e-9) },
  { name: "disjoint supports", p: dense(0.5, 0.5, 0, 0), q: dense(0, 0, 0.4, 0.6) },
  { name: "q a point mass", p: dense(0.2, 0.5, 0.3), q: dense(0, 1, 0) },
  { name: "p a point mass, drafts sampled from q", p: dense(0, 0, 1, 0), q: dense(0.4, 0.3, 0.2, 0.1) },
  { name: "tiny probabilities", p: dense(1 - 2e-15, 1e-15, 1e-15), q: dense(1e-15, 1 - 2e-15, 1e-15) },
  { name: "q far more peaked than p", p: dense(0.25, 0.25, 0.25, 0.25, 0), q: dense(0.97, 0.01, 0.01, 0.005, 0.005) },
];

function randomCases(): Case[] {
  const random = createRandom(20231015);
  const cases: Case[] = [];
  for (let size = 3; size <= 5; size++) {
    for (let trial = 0; trial < 6; trial++) {
      const zeroChance = trial < 3 ? 0 : 0.3;
      cases.push({ name: `random |V|=${size} #${trial}`, p: randomDistribution(random, size, zeroChance), q: randomDistribution(random, size, zeroChance) });
    }
  }
  return cases;
}

const ALL_CASES = [...EDGE_CASES, ...randomCases()];
const KS = [1, 2, 3, 4];

// ---------------------------------------------------------------- exhaustive enumeration

/** Thrown by the enumerating Chance at the first decision the current script does not cover. */
class Branch {
  constructor(readonly options: ReadonlyArray<{ choice: boolean | number; weight: number }>) {}
}

/**
 * Every outcome of `run` with its exact probability: `run` is replayed along a script of
 * decisions, and each new decision forks into all its branches (those of weight > 0).
 */
function enumerateOutcomes<T>(run: (chance: Chance) => T): Array<{ value: T; probability: number }> {
  const outcomes: Array<{ value: T; probability: number }> = [];
  const explore = (script: ReadonlyArray<boolean | number>, probability: number): void => {
    let step = 0;
    const chance: Chance = {
      bernoulli(pr) {
        if (step < script.length) return script[step++] as boolean;
        throw new Branch([
          { choice: true, weight: pr },
          { choice: false, weight: 1 - pr },
        ]);
      },
      categorical(d) {
        if (step < script.length) return script[step++] as number;
        throw new Branch(Array.from(d.tokens, (token, i) => ({ choice: token, weight: d.probs[i]! })));
      },
    };
    try {
      outcomes.push({ value: run(chance), probability });
    } catch (error) {
      if (!(error instanceof Branch)) throw error;
      for (const { choice, weight } of error.options) if (weight > 0) explore([...script, choice], probability * weight);
    }
  };
  explore([], 1);
  return outcomes;
}

/** Every k-tuple of draft tokens with positive probability under q, with prod q(X_i). */
function draftTuples(q: SparseDistribution, k: number): Array<{ drafts: number[]; probability: number }> {
  let tuples = [{ drafts: [] as number[], probability: 1 }];
  for (let i = 0; i < k; i++) {
    tuples = tuples.flatMap((t) =>
      Array.from(q.tokens, (token, j) => ({ drafts: [...t.drafts, token], probability: t.probability * q.probs[j]! })).filter((t) => t.probability > 0),
    );
  }
  return tuples;
}

interface Enumeration {
  output: Map<number, number>;
  /** P(acceptedIndex = i), i = 0..k-1, then P(residual) last. */
  byIndex: number[];
}

/** The exact law of selectWithPlan(plan, drafts, .) when drafts are i.i.d. from plan.q. */
function enumerateKseq(plan: KseqPlan, tuples = draftTuples(plan.q, plan.k)): Enumeration {
  const output = new Map<number, number>();
  const byIndex = new Array<number>(plan.k + 1).fill(0);
  for (const { drafts, probability } of tuples) {
    for (const { value, probability: branch } of enumerateOutcomes((chance) => selectWithPlan(plan, drafts, chance))) {
      const mass = probability * branch;
      output.set(value.token, (output.get(value.token) ?? 0) + mass);
      const slot = value.acceptedIndex < 0 ? plan.k : value.acceptedIndex;
      byIndex[slot] = byIndex[slot]! + mass;
    }
  }
  return { output, byIndex };
}

function asMap(d: ReadonlyMap<number, number> | SparseDistribution): ReadonlyMap<number, number> {
  return d instanceof Map ? d : new Map(Array.from((d as SparseDistribution).tokens, (t, i) => [t, (d as SparseDistribution).probs[i]!]));
}

/** max_x |out(x) - p(x)| over both supports. */
function maxAbsDiff(output: ReadonlyMap<number, number> | SparseDistribution, p: SparseDistribution): number {
  const map = asMap(output);
  let worst = 0;
  for (const [token, prob] of map) worst = Math.max(worst, Math.abs(prob - probabilityOf(p, token)));
  p.tokens.forEach((token, i) => (worst = Math.max(worst, Math.abs((map.get(token) ?? 0) - p.probs[i]!))));
  return worst;
}

/** max_x |out(x) - p(x)| / p(x) over the support of p: tiny probabilities must be right too. */
function maxRelDiff(output: ReadonlyMap<number, number> | SparseDistribution, p: SparseDistribution): number {
  const map = asMap(output);
  let worst = 0;
  p.tokens.forEach((token, i) => {
    if (p.probs[i]! > 0) worst = Math.max(worst, Math.abs((map.get(token) ?? 0) - p.probs[i]!) / p.probs[i]!);
  });
  return worst;
}

const EXACT = 1e-12;

describe("K-SEQ exhaustive enumeration", () => {
  for (const { name, p, q } of ALL_CASES) {
    it(`outputs exactly p: ${name}, k = 1..4`, () => {
      for (const k of KS) {
        const plan = planKseq(p, q, k);
        const { output, byIndex } = enumerateKseq(plan);
        const diff = maxAbsDiff(output, p);
        assert.ok(diff <= EXACT, `k = ${k}: max |P(out) - p| = ${diff}`);
        const relative = maxRelDiff(output, p);
        assert.ok(relative <= EXACT, `k = ${k}: max |P(out) - p| / p = ${relative}`);
        assert.ok(maxAbsDiff(kseqOutputDistribution(plan), p) <= EXACT, `k = ${k}: closed form differs from p`);
        // Draft i is accepted with probability (1 - beta)^i beta; acceptance in total is p_acc.
        for (let i = 0; i < k; i++) assert.ok(Math.abs(byIndex[i]! - (1 - plan.beta) ** i * plan.beta) <= EXACT, `k = ${k}: P(accepted at ${i})`);
        assert.ok(Math.abs(1 - byIndex[k]! - plan.acceptance) <= EXACT, `k = ${k}: acceptance ${1 - byIndex[k]!} vs p_acc ${plan.acceptance}`);
      }
    });
  }

  it("any rho in [rho*, k] is exact, and rho* accepts the most", () => {
    for (const { p, q } of ALL_CASES) {
      for (const k of [2, 4]) {
        const best = planKseq(p, q, k);
        for (const rho of [(best.rho + k) / 2, k]) {
          const plan = planKseq(p, q, k, { rho });
          assert.ok(maxAbsDiff(enumerateKseq(plan).output, p) <= EXACT);
          assert.ok(plan.acceptance <= best.acceptance + 1e-15);
        }
      }
    }
  });

  it("temperature 0: a point-mass p with greedy drafts returns that token, accepted iff drafted", () => {
    const q = dense(0.1, 0.4, 0.4, 0.1);
    for (const target of [0, 1, 2, 3]) {
      const row = [0, 0, 0, 0];
      row[target] = 1;
      const p = dense(...row);
      for (const k of [1, 2, 3]) {
        const drafts = greedyDrafts(q, k);
        const outcomes = enumerateOutcomes((chance) => selectWithPlan(planKseq(p, q, k), drafts, chance));
        assert.equal(outcomes.length, 1, "point mass: no randomness is consumed");
        const token = 3 + 7 * target;
        assert.deepEqual(outcomes[0]!.value, { token, acceptedIndex: drafts.indexOf(token) });
        // The shortcut is what K-SEQ does there anyway: the matching draft is accepted surely.
        assert.equal(acceptanceProbability(1, probabilityOf(q, token), rhoStar(p, q, k)), 1);
      }
    }
  });
});

describe("a wrong K-SEQ is caught", () => {
  /**
   * Below rho*, gamma > rho, so the residual p(x) (1 - gamma/rho) is negative at every x with
   * p(x) > 0 and p(x)/rho <= q(x). If there is no such x, nothing the algorithm does depends on
   * rho there (every acceptance is certain, beta is flat): that rho is exact too.
   */
  const below = ALL_CASES.flatMap(({ name, p, q }) =>
    KS.map((k) => {
      const best = rhoStar(p, q, k);
      const rho = best * (1 - 1e-3);
      const capped = Array.from(p.tokens).some((token) => probabilityOf(p, token) > 0 && probabilityOf(p, token) / rho <= probabilityOf(q, token));
      return { name, p, q, k, best, rho, capped };
    }).filter((c) => c.best > 1 + 1e-6),
  );
  const shrunk = below.filter((c) => c.capped);

  it("rho below rho* leaves a negative residual, and planKseq refuses it", () => {
    assert.ok(shrunk.length >= 20, `only ${shrunk.length} cases with rho* > 1`);
    for (const { name, p, q, k, rho } of shrunk) {
      const gamma = gammaFromBeta(beta(p, q, rho), k);
      // Relative to p(x): the residual there is p(x) (1 - gamma/rho), and p(x) may be 1e-15.
      const relative = Array.from(p.tokens, (token, i) => (p.probs[i]! > 0 ? residualWeight(p.probs[i]!, probabilityOf(q, token), rho, gamma) / p.probs[i]! : 0));
      const lowest = Math.min(...relative);
      assert.ok(lowest < -RESIDUAL_TOLERANCE, `${name}, k = ${k}: lowest residual / p ${lowest}`);
      assert.throws(() => planKseq(p, q, k, { rho }), NegativeResidualError);
    }
  });

  it("where no p(x)/rho <= q(x), a rho below rho* changes nothing and stays exact", () => {
    const flat = below.filter((c) => !c.capped);
    assert.ok(flat.length >= 1);
    for (const { name, p, q, k, best, rho } of flat) {
      assert.equal(beta(p, q, rho), beta(p, q, best), name);
      assert.ok(maxAbsDiff(enumerateKseq(planKseq(p, q, k, { rho })).output, p) <= EXACT, `${name}, k = ${k}`);
    }
  });

  it("the enumeration detects the paper's max(0, .) at rho < rho*, and a residual replaced by p", () => {
    // The error is bounded by the overlap sum min(p, q): near-disjoint cases cannot show it.
    const overlapping = shrunk.filter(({ p, q }) => beta(p, q, 1) >= 1e-3);
    assert.ok(overlapping.length >= 20);
    for (const { name, p, q, k, rho } of overlapping) {
      const b = beta(p, q, rho);
      const gamma = gammaFromBeta(b, k);
      const weights = residualWeights(p, q, rho, gamma);
      const clipped = weights.probs.map((w) => Math.max(0, w));
      const mass = clipped.reduce((a, w) => a + w, 0);
      const good = planKseq(p, q, k);
      const wrongRho: KseqPlan = { ...good, rho, beta: b, gamma, acceptance: pAcc(p, q, rho, k), residual: { tokens: weights.tokens, probs: clipped.map((w) => w / mass) } };
      assert.ok(maxAbsDiff(enumerateKseq(wrongRho).output, p) > 1e-6, `${name}, k = ${k}: wrong rho went unnoticed`);
      const naiveResidual: KseqPlan = { ...good, residual: p };
      assert.ok(maxAbsDiff(enumerateKseq(naiveResidual).output, p) > 1e-6, `${name}, k = ${k}: residual = p went unnoticed`);
    }
  });
});

describe("rho*", () => {
  it("lies in [1, k], is a root of f (up to rounding) and the smallest one", () => {
    for (const { name, p, q } of ALL_CASES) {
      for (const k of [1, 2, 3, 4, 8]) {
        const rho = rhoStar(p, q, k);
        assert.ok(rho >= 1 && rho <= k, `${name}, k = ${k}: rho* = ${rho}`);
        // f(rho*) <= 0, except that f(1) may be rounding above 0.
        const f = rhoObjective(p, q, rho, k);
        const slack = rho === 1 ? RHO_TOLERANCE * beta(p, q, 1) : 2 * Number.EPSILON;
        assert.ok(f <= slack && f > -1e-13, `${name}, k = ${k}: f(rho*) = ${f}`);
        if (rho > 1) assert.ok(rhoObjective(p, q, rho * (1 - 4 * Number.EPSILON), k) > 0, `${name}, k = ${k}: not the smallest root`);
      }
    }
  });

  it("is 1 for k = 1, for p == q and for disjoint supports", () => {
    for (const { p, q } of ALL_CASES) assert.equal(rhoStar(p, q, 1), 1);
    for (const k of [2, 3, 8]) {
      assert.equal(rhoStar(dense(1, 1, 0, 0), dense(0, 0, 1, 1), k), 1);
      // Random p == q, where f(1) can round to 1e-16 > 0 (without a tolerance, rho* = 1.002 at k = 8).
      for (const { p } of ALL_CASES) assert.equal(rhoStar(p, p, k), 1);
    }
  });

  it("bisects on a precomputed beta curve that agrees with the direct sum", () => {
    const random = createRandom(11);
    for (const { name, p, q } of ALL_CASES) {
      const curve = betaCurve(overlap(p, q), 8);
      for (let n = 0; n < 50; n++) {
        const rho = n === 0 ? 1 : n === 1 ? 8 : 1 + 7 * random.next();
        assert.ok(Math.abs(evaluateBetaCurve(curve, rho) - beta(p, q, rho)) <= 4 * Number.EPSILON, `${name}, rho = ${rho}`);
      }
    }
  });

  it("scales to a vocabulary of 4000 (Zipf target, shifted draft)", () => {
    const p = zipf(4000, 1.1, 0);
    const q = zipf(4000, 1.3, 5);
    for (const k of [2, 4, 8]) {
      const plan = planKseq(p, q, k);
      assert.ok(plan.rho > 1 && plan.rho < k);
      assert.ok(rhoObjective(p, q, plan.rho, k) <= 2 * Number.EPSILON);
      assert.ok(rhoObjective(p, q, plan.rho * (1 - 4 * Number.EPSILON), k) > 0);
      assert.ok(maxAbsDiff(kseqOutputDistribution(plan), p) <= EXACT);
    }
  });

  it("accepts at least as often as one draft: p_acc(rho*) >= sum min(p, q)", () => {
    for (const { name, p, q } of ALL_CASES) {
      const single = beta(p, q, 1);
      for (const k of KS) {
        const plan = planKseq(p, q, k);
        assert.ok(plan.acceptance >= single - 1e-15, `${name}, k = ${k}: ${plan.acceptance} < ${single}`);
        assert.ok(Math.abs(plan.acceptance - pAcc(p, q, plan.rho, k)) <= 1e-15);
      }
    }
  });

  it("gives a residual whose mass is (1 - beta)^k", () => {
    for (const { name, p, q } of ALL_CASES) {
      for (const k of KS) {
        const plan = planKseq(p, q, k);
        const mass = residualWeights(p, q, plan.rho, plan.gamma).probs.reduce((a, w) => a + w, 0);
        assert.ok(Math.abs(mass - (1 - plan.beta) ** k) <= 1e-14, `${name}, k = ${k}`);
      }
    }
  });
});

describe("guards and helpers", () => {
  it("rejects drafts that q cannot produce or p never outputs", () => {
    assert.equal(acceptanceProbability(0.5, 0, 1.5), 0);
    assert.equal(acceptanceProbability(0, 0.5, 1.5), 0);
    assert.equal(acceptanceProbability(0, 0, 1), 0);
    assert.equal(acceptanceProbability(0.6, 0.2, 1.5), 1);
    assert.ok(Math.abs(acceptanceProbability(0.3, 0.4, 1.5) - 0.5) <= 1e-15);
    const p = dense(0.3, 0.3, 0.2, 0.2);
    const q = dense(0.7, 0, 0.3, 0);
    // Token 10 has q = 0: it is rejected and the residual decides.
    const outcomes = enumerateOutcomes((chance) => selectWithPlan(planKseq(p, q, 2), [10, 10], chance));
    assert.ok(outcomes.every((o) => o.value.acceptedIndex === -1));
  });

  it("a disjoint draft gives gamma = 0 and samples p", () => {
    const p = dense(0.5, 0.5, 0, 0);
    const plan = planKseq(p, dense(0, 0, 0.4, 0.6), 3);
    assert.equal(plan.beta, 0);
    assert.equal(plan.gamma, 0);
    assert.ok(maxAbsDiff(plan.residual, p) <= 1e-15);
  });

  it("k = 0 samples p", () => {
    const p = dense(0.5, 0.3, 0.2);
    const { output } = enumerateKseq(planKseq(p, dense(0.2, 0.3, 0.5), 0));
    assert.ok(maxAbsDiff(output, p) <= EXACT);
  });

  it("greedyDrafts: most likely distinct tokens first, ties by the smaller id, no zeros", () => {
    const q = sparseFromEntries([
      [40, 0.2],
      [7, 0.2],
      [9, 0.35],
      [1, 0],
      [12, 0.25],
    ]);
    assert.deepEqual(greedyDrafts(q, 3), [9, 12, 7]);
    assert.deepEqual(greedyDrafts(q, 10), [9, 12, 7, 40]);
    assert.deepEqual(greedyDrafts(q, 0), []);
  });

  it("sampleSparse inverts the CDF and skips zeros", () => {
    const d = sparseFromDense([0, 0.25, 0, 0.75]);
    assert.deepEqual(Array.from(d.tokens), [1, 3]);
    assert.equal(sampleSparse(d, 0), 1);
    assert.equal(sampleSparse(d, 0.2499), 1);
    assert.equal(sampleSparse(d, 0.25), 3);
    assert.equal(sampleSparse(d, 1 - Number.EPSILON / 2), 3);
    const withZeroLast = sparseFromEntries([
      [1, 0.5],
      [2, 0.5 - 1e-17],
      [3, 0],
    ]);
    assert.equal(sampleSparse(withZeroLast, 1 - Number.EPSILON / 2), 2);
  });

  it("refuses malformed or unnormalised input", () => {
    assert.throws(() => sparseFromEntries([[1, 0.5], [1, 0.5]]), RangeError);
    assert.throws(() => sparseFromEntries([[1, -0.1], [2, 1.1]]), RangeError);
    assert.throws(() => sparseFromEntries([[1, Number.NaN]]), RangeError);
    assert.throws(() => planKseq(sparseFromEntries([[1, 0.5]]), dense(1), 2), RangeError);
  });

  it("is deterministic under a seeded random source", () => {
    const p = dense(0.5, 0.3, 0.2);
    const q = dense(0.2, 0.3, 0.5);
    const run = () => {
      const random = createRandom(99);
      const next = () => random.next();
      return Array.from({ length: 200 }, () => kseqSelect(p, q, [sampleSparse(q, next()), sampleSparse(q, next())], next));
    };
    assert.deepEqual(run(), run());
  });
});

// ---------------------------------------------------------------- sampling

describe("chi-square survival function", () => {
  it("matches tabulated critical values and the df = 2 closed form", () => {
    const close = (a: number, b: number, tolerance: number) => assert.ok(Math.abs(a - b) <= tolerance * b, `${a} vs ${b}`);
    close(chiSquareSurvival(3.841458820694124, 1), 0.05, 1e-10);
    close(chiSquareSurvival(6.634896601021214, 1), 0.01, 1e-10);
    close(chiSquareSurvival(18.307038053275146, 10), 0.05, 1e-10);
    close(chiSquareSurvival(124.34211340400407, 100), 0.05, 1e-10);
    close(chiSquareSurvival(149.44925277903823, 100), 0.001, 1e-9);
    for (const x of [0.1, 1, 7, 40, 200]) close(chiSquareSurvival(x, 2), Math.exp(-x / 2), 1e-12);
    assert.equal(chiSquareSurvival(0, 5), 1);
  });
});

const DRAWS = 1_000_000;

/**
 * Counts of the tokens of p output over DRAWS selections with drafts i.i.d. from q, either
 * through kseqSelect (rho* recomputed every call, as a caller without a plan would) or through
 * one plan and selectWithPlan.
 */
function sampleKseq(p: SparseDistribution, q: SparseDistribution, k: number, seed: number, via: "kseqSelect" | "plan") {
  const plan = planKseq(p, q, k);
  const random = createRandom(seed);
  const next = () => random.next();
  const chance = uniformChance(next);
  const index = new Map(Array.from(p.tokens, (token, i) => [token, i]));
  const counts = new Float64Array(p.tokens.length);
  const drafts = new Int32Array(k);
  let accepted = 0;
  for (let n = 0; n < DRAWS; n++) {
    for (let i = 0; i < k; i++) drafts[i] = sampleSparse(q, next());
    const { token, acceptedIndex } = via === "kseqSelect" ? kseqSelect(p, q, drafts, next) : selectWithPlan(plan, drafts, chance);
    const slot = index.get(token);
    if (slot === undefined) throw new Error(`token ${token} has p = 0`);
    counts[slot]!++;
    if (acceptedIndex >= 0) accepted++;
  }
  return { plan, counts, accepted };
}

describe("K-SEQ sampling: chi-square goodness of fit to p over 1e6 draws", () => {
  const random = createRandom(5);
  const small = { p: randomDistribution(random, 6), q: randomDistribution(random, 6) };
  const settings = [
    { name: "|V| = 6 random, k = 3, through kseqSelect", seed: 1, ...small, k: 3, via: "kseqSelect" as const },
    { name: "|V| = 40 Zipf, shifted draft, k = 4", seed: 2, p: zipf(40, 1.1, 0), q: zipf(40, 1.3, 3), k: 4, via: "plan" as const },
    { name: "zeros on both sides, k = 2", seed: 3, p: dense(0.3, 0.3, 0.2, 0.2, 0), q: dense(0.5, 0, 0.3, 0, 0.2), k: 2, via: "plan" as const },
  ];
  for (const { name, seed, p, q, k, via } of settings) {
    it(name, () => {
      const { plan, counts, accepted } = sampleKseq(p, q, k, seed, via);
      const { statistic, df, pValue } = chiSquareTest(counts, p.probs);
      assert.ok(pValue > 1e-4, `chi2 = ${statistic}, df = ${df}, p-value = ${pValue}`);
      // The acceptance rate is p_acc(rho*), within 5 standard errors.
      const sigma = Math.sqrt((plan.acceptance * (1 - plan.acceptance)) / DRAWS);
      assert.ok(Math.abs(accepted / DRAWS - plan.acceptance) <= 5 * sigma + 1e-12, `acceptance ${accepted / DRAWS} vs ${plan.acceptance}`);
    });
  }

  it("has the power to reject the draft itself (the test can fail)", () => {
    const p = dense(0.3, 0.3, 0.2, 0.2);
    const q = dense(0.28, 0.3, 0.22, 0.2);
    const random = createRandom(4);
    const counts = new Float64Array(4);
    for (let n = 0; n < DRAWS / 4; n++) counts[(sampleSparse(q, random.next()) - 3) / 7]!++;
    assert.ok(chiSquareTest(counts, p.probs).pValue < 1e-10);
  });
});
