/**
 * How many drafts survive each position, and from it the block efficiency E[tokens per block]
 * (tokens per serial target call). The state of a block is its number of survivors: K before
 * position 0, 0 once the block has stopped. An AcceptanceModel gives the law of the survivors
 * after a position from the survivors before it; blockEfficiency runs that Markov chain.
 */
import { planKseq, probabilityOf, type SparseDistribution } from "../kseq/index.ts";
import type { KseqPlanner } from "./types.ts";

export interface AcceptanceModel {
  /**
   * P(j drafts survive the position | k >= 1 entered it), j = 0..k (length k + 1, sums to 1).
   * `position` is 0-based; models may ignore it.
   */
  survivorTransition(k: number, position: number): ArrayLike<number>;
}

/**
 * P(some draft survives position t), t = 0..L-1, for a block of K drafts of length L. The
 * block emits 1 + (number of positions survived) tokens.
 */
export function survivalByPosition(model: AcceptanceModel, k: number, l: number): Float64Array {
  const alive = new Float64Array(l);
  if (k < 1) return alive;
  let state = new Float64Array(k + 1); // state[j] = P(j survivors entering position t)
  state[k] = 1;
  for (let t = 0; t < l; t++) {
    const next = new Float64Array(k + 1);
    next[0] = state[0]!; // stopped blocks stay stopped
    for (let from = 1; from <= k; from++) {
      const weight = state[from]!;
      if (weight === 0) continue;
      const row = model.survivorTransition(from, t);
      if (row.length !== from + 1) throw new RangeError(`transition from ${from} has ${row.length} entries, not ${from + 1}`);
      for (let to = 0; to <= from; to++) next[to]! += weight * row[to]!;
    }
    state = next;
    alive[t] = 1 - state[0]!;
  }
  return alive;
}

/** E[tokens emitted per block] = 1 + sum_t P(some draft survives position t). K = 0 or L = 0 gives 1. */
export function blockEfficiency(model: AcceptanceModel, k: number, l: number): number {
  return 1 + survivalByPosition(model, k, l).reduce((a, b) => a + b, 0);
}

/** P(Binomial(n, probability) = j), j = 0..n. */
export function binomialPmf(n: number, probability: number): Float64Array {
  const pmf = new Float64Array(n + 1);
  pmf[0] = 1;
  for (let m = 1; m <= n; m++) {
    for (let j = m; j >= 1; j--) pmf[j] = pmf[j]! * (1 - probability) + pmf[j - 1]! * probability;
    pmf[0] = pmf[0]! * (1 - probability);
  }
  return pmf;
}

/**
 * The simple i.i.d. model, from `alpha` = the chance one draft is accepted (sum_x min(p, q),
 * standard speculative sampling's acceptance rate), one number or one per position (the last
 * repeats). With k survivors some draft is accepted with 1 - (1 - alpha)^k; then the accepted
 * draft survives and each of the other k - 1 also does with probability `agreement` (it holds
 * the same token); otherwise none survives.
 * Assumptions: positions independent; 1 - (1 - alpha)^k is an UPPER bound on K-SEQ's
 * p_acc(rho*) = 1 - (1 - beta(rho*))^k, as beta(rho*) <= beta(1) = alpha (tight at k = 1);
 * at rho* no draft survives a rejection (index.ts). agreement = 0 (default, conservative)
 * leaves one survivor after the first position; K = 1 gives the classic
 * E = (1 - alpha^(L+1)) / (1 - alpha).
 */
export function iidAcceptanceModel({ alpha, agreement = 0 }: { alpha: number | readonly number[]; agreement?: number }): AcceptanceModel {
  const alphas = typeof alpha === "number" ? [alpha] : alpha;
  if (alphas.length === 0) throw new RangeError("alpha needs at least one value");
  for (const a of alphas) if (!(a >= 0 && a <= 1)) throw new RangeError(`alpha = ${a} must be in [0, 1]`);
  if (!(agreement >= 0 && agreement <= 1)) throw new RangeError(`agreement = ${agreement} must be in [0, 1]`);
  return {
    survivorTransition(k, position) {
      const a = alphas[Math.min(position, alphas.length - 1)]!;
      const row = new Float64Array(k + 1);
      const accepted = -Math.expm1(k * Math.log1p(-a));
      row[0] = 1 - accepted;
      binomialPmf(k - 1, agreement).forEach((pr, j) => (row[j + 1] = accepted * pr));
      return row;
    },
  };
}

/**
 * The exact law of the survivors of one K-SEQ position with k drafts i.i.d. from q and target
 * p, index j = 0..k. With a(x) = min(q(x), p(x)/rho) (the chance a draft is x and accepted)
 * and r(x) = (q(x) - a(x)) / (1 - beta) (the law of a rejected draft's token):
 * - draft i is the first accepted, with token y: probability (1 - beta)^(i-1) a(y); drafts
 *   before it were rejected, drafts after it were not tested, so the survivors are
 *   1 + Binomial(i - 1, r(y)) + Binomial(k - i, q(y));
 * - all k rejected, probability (1 - beta)^k: y ~ residual, survivors Binomial(k, r(y)).
 * A point-mass p (temperature 0) accepts exactly the drafts equal to its token.
 */
export function kseqSurvivorTransition(p: SparseDistribution, q: SparseDistribution, k: number, planner: KseqPlanner = (a, b, n) => planKseq(a, b, n)): Float64Array {
  const plan = planner(p, q, k, 0);
  const row = new Float64Array(k + 1);
  const tokens = new Set([...p.tokens, ...q.tokens]);
  const take = (y: number): number => {
    const qy = probabilityOf(q, y);
    if (plan.pointMass !== undefined) return y === plan.pointMass ? qy : 0;
    const py = probabilityOf(p, y);
    return py > 0 && qy > 0 ? Math.min(qy, py / plan.rho) : 0;
  };
  const beta = plan.pointMass !== undefined ? probabilityOf(q, plan.pointMass) : plan.beta;
  const rejected = 1 - beta;
  const residual = plan.pointMass !== undefined ? { tokens: Int32Array.of(plan.pointMass), probs: Float64Array.of(1) } : plan.residual;
  for (const y of tokens) {
    const qy = probabilityOf(q, y);
    const ay = take(y);
    const ry = rejected > 0 ? Math.min(1, Math.max(0, (qy - ay) / rejected)) : 0;
    if (ay > 0) {
      for (let i = 1; i <= k; i++) {
        const weight = rejected ** (i - 1) * ay;
        if (weight === 0) break;
        const before = binomialPmf(i - 1, ry);
        const after = binomialPmf(k - i, qy);
        before.forEach((pb, b) => after.forEach((pa, a) => (row[1 + b + a]! += weight * pb * pa)));
      }
    }
    const ry0 = probabilityOf(residual, y);
    if (ry0 > 0 && rejected > 0) {
      const weight = rejected ** k * ry0;
      binomialPmf(k, ry).forEach((pr, j) => (row[j]! += weight * pr));
    }
  }
  return row;
}

/**
 * K-SEQ's exact transitions averaged over representative (p, q) pairs (e.g. recorded from
 * traffic, after the sampling transforms). Exact for one pair when p and q do not depend on
 * the context (then every position is alike); otherwise an approximation that ignores how
 * acceptance correlates along a block. Transitions are computed once per k.
 */
export function kseqAcceptanceModel(samples: ReadonlyArray<{ readonly p: SparseDistribution; readonly q: SparseDistribution }>, planner?: KseqPlanner): AcceptanceModel {
  if (samples.length === 0) throw new RangeError("need at least one (p, q) sample");
  const cache = new Map<number, Float64Array>();
  return {
    survivorTransition(k) {
      let row = cache.get(k);
      if (row === undefined) {
        row = new Float64Array(k + 1);
        for (const { p, q } of samples) kseqSurvivorTransition(p, q, k, planner).forEach((pr, j) => (row![j]! += pr / samples.length));
        cache.set(k, row);
      }
      return row;
    },
  };
}
