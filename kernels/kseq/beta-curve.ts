/**
 * beta(rho) = sum_x min(p(x)/rho, q(x)) on [1, rhoMax], precomputed so that one evaluation is
 * a binary search instead of a pass over the vocabulary (rho* bisects ~52 times).
 *
 * With r(x) = p(x)/q(x), min(p(x)/rho, q(x)) is q(x) while rho < r(x) and p(x)/rho after, so
 * beta(rho) = (sum of q over r > rho) + (sum of p over r <= rho) / rho. Tokens with r <= 1 are
 * always on the p side and tokens with r >= rhoMax always on the q side; only the ratios in
 * between are sorted, with compensated running sums.
 */
import { CompensatedSum } from "./sum.ts";
import type { Overlap } from "./types.ts";

export interface BetaCurve {
  /** Ratios p/q strictly inside (1, rhoMax), ascending. */
  readonly ratios: Float64Array;
  /** pBelow[j]: sum of p over tokens with r <= 1 and the first j ratios. */
  readonly pBelow: Float64Array;
  /** qAbove[j]: sum of q over tokens with r >= rhoMax and ratios j.. onwards. */
  readonly qAbove: Float64Array;
}

export function betaCurve(o: Overlap, rhoMax: number): BetaCurve {
  const pSum = new CompensatedSum();
  const qSum = new CompensatedSum();
  const middle: number[] = [];
  for (let i = 0; i < o.p.length; i++) {
    const ratio = o.p[i]! / o.q[i]!;
    if (ratio <= 1) pSum.add(o.p[i]!);
    else if (ratio >= rhoMax) qSum.add(o.q[i]!);
    else middle.push(i);
  }
  middle.sort((a, b) => o.p[a]! / o.q[a]! - o.p[b]! / o.q[b]!);
  const m = middle.length;
  const ratios = new Float64Array(m);
  const pBelow = new Float64Array(m + 1);
  const qAbove = new Float64Array(m + 1);
  pBelow[0] = pSum.value();
  for (let j = 0; j < m; j++) {
    const i = middle[j]!;
    ratios[j] = o.p[i]! / o.q[i]!;
    pSum.add(o.p[i]!);
    pBelow[j + 1] = pSum.value();
  }
  qAbove[m] = qSum.value();
  for (let j = m - 1; j >= 0; j--) {
    qSum.add(o.q[middle[j]!]!);
    qAbove[j] = qSum.value();
  }
  return { ratios, pBelow, qAbove };
}

/** beta(rho) for rho in [1, rhoMax]. */
export function evaluateBetaCurve(curve: BetaCurve, rho: number): number {
  // j = how many ratios are <= rho.
  let lo = 0;
  let hi = curve.ratios.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (curve.ratios[mid]! <= rho) lo = mid + 1;
    else hi = mid;
  }
  return curve.qAbove[lo]! + curve.pBelow[lo]! / rho;
}
