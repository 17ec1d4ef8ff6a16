/** rho*: the smallest rho in [1, k] at which the K-SEQ residual is guaranteed non-negative. */
import { beta, overlap, pAccFromBeta } from "./acceptance.ts";
import { betaCurve, evaluateBetaCurve, type BetaCurve } from "./beta-curve.ts";
import type { SparseDistribution } from "./types.ts";

/**
 * How far above 0 a computed f(1) may be and still give rho* = 1, relative to beta(1):
 * rounding in beta and p_acc is a few ulps of that. Without it p = q, where f = 0 on all of
 * [1, k], can compute f(1) = 1e-16 and bisect to rho* = 1.002 for k = 8. At rho = 1 the
 * residual is then >= -RHO_TOLERANCE p(x), far inside the clamp of residual.ts. Inside the
 * bisection the test is exactly f <= 0, so that a root above 1 is not moved down.
 */
export const RHO_TOLERANCE = 32 * Number.EPSILON;

/**
 * f(rho) = p_acc(rho) - rho beta(rho). f(1) >= 0, f(k) <= 0 and f never increases.
 * f(rho) <= 0 means gamma <= rho, which makes the residual p - gamma min(p/rho, q)
 * non-negative everywhere. (The converse needs some x with 0 < p(x)/rho <= q(x); without one,
 * every acceptance is certain, beta is flat, and a smaller rho changes nothing.)
 */
export function rhoObjective(p: SparseDistribution, q: SparseDistribution, rho: number, k: number): number {
  const b = beta(p, q, rho);
  return pAccFromBeta(b, k) - rho * b;
}

function objective(curve: BetaCurve, rho: number, k: number): number {
  const b = evaluateBetaCurve(curve, rho);
  return pAccFromBeta(b, k) - rho * b;
}

/**
 * rho* by bisection on [1, k], run until the bracket is two adjacent doubles, keeping
 * f(lo) > 0 >= f(hi) and returning hi: the smallest representable rho with f <= 0.
 * f = 0 at 1 up to RHO_TOLERANCE (k = 1, p = q, disjoint supports, ...) gives 1.
 * About 52 evaluations of beta, each O(log |overlap|) after an O(n log n) set-up (beta-curve.ts).
 */
export function rhoStar(p: SparseDistribution, q: SparseDistribution, k: number): number {
  if (k <= 1) return 1;
  const curve = betaCurve(overlap(p, q), k);
  let lo = 1;
  let hi = k;
  if (objective(curve, lo, k) <= RHO_TOLERANCE * evaluateBetaCurve(curve, lo)) return lo;
  if (objective(curve, hi, k) > 0) return hi; // only by rounding: f(k) <= 0 in exact arithmetic
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) return hi;
    if (objective(curve, mid, k) <= 0) hi = mid;
    else lo = mid;
  }
}
