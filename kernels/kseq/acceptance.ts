/** The acceptance quantities of K-SEQ: beta, p_acc and the per-draft acceptance probability. */
import { CompensatedSum } from "./sum.ts";
import type { Overlap, SparseDistribution } from "./types.ts";

/** The tokens in both supports (p(x) > 0 and q(x) > 0), the only ones beta depends on. */
export function overlap(p: SparseDistribution, q: SparseDistribution): Overlap {
  const ps: number[] = [];
  const qs: number[] = [];
  let i = 0;
  let j = 0;
  while (i < p.tokens.length && j < q.tokens.length) {
    const a = p.tokens[i]!;
    const b = q.tokens[j]!;
    if (a < b) i++;
    else if (b < a) j++;
    else {
      if (p.probs[i]! > 0 && q.probs[j]! > 0) {
        ps.push(p.probs[i]!);
        qs.push(q.probs[j]!);
      }
      i++;
      j++;
    }
  }
  return { p: Float64Array.from(ps), q: Float64Array.from(qs) };
}

/** beta(rho) = sum_x min(p(x)/rho, q(x)) over an overlap, with Neumaier compensation. */
export function betaOfOverlap(o: Overlap, rho: number): number {
  const sum = new CompensatedSum();
  for (let i = 0; i < o.p.length; i++) sum.add(Math.min(o.p[i]! / rho, o.q[i]!));
  return sum.value();
}

/** beta(rho) = sum_x min(p(x)/rho, q(x)), the chance one draft X ~ q is accepted. */
export function beta(p: SparseDistribution, q: SparseDistribution, rho: number): number {
  return betaOfOverlap(overlap(p, q), rho);
}

/**
 * p_acc = 1 - (1 - beta)^k, the chance one of k independent drafts is accepted, computed as
 * -expm1(k log1p(-beta)) so that it keeps full relative precision when beta is small.
 */
export function pAccFromBeta(betaValue: number, k: number): number {
  if (k <= 0 || betaValue <= 0) return 0;
  if (betaValue >= 1) return 1;
  return -Math.expm1(k * Math.log1p(-betaValue));
}

/** (1 - beta)^k, the chance all k drafts are rejected. */
export function rejectAllFromBeta(betaValue: number, k: number): number {
  if (k <= 0 || betaValue <= 0) return 1;
  if (betaValue >= 1) return 0;
  return Math.exp(k * Math.log1p(-betaValue));
}

export function pAcc(p: SparseDistribution, q: SparseDistribution, rho: number, k: number): number {
  return pAccFromBeta(beta(p, q, rho), k);
}

/** gamma = p_acc / beta; 0 when beta = 0 (no draft can be accepted, so it never matters). */
export function gammaFromBeta(betaValue: number, k: number): number {
  return betaValue > 0 ? pAccFromBeta(betaValue, k) / betaValue : 0;
}

/**
 * min(1, p(x) / (rho q(x))), the chance a draft x is accepted. A token with p(x) = 0 is never
 * accepted; so is one with q(x) = 0, which i.i.d. drafts from q cannot produce (rejecting it
 * keeps the output exact whatever the drafts were).
 */
export function acceptanceProbability(px: number, qx: number, rho: number): number {
  if (!(px > 0) || !(qx > 0)) return 0;
  const ratio = px / (rho * qx);
  return ratio >= 1 ? 1 : ratio;
}
