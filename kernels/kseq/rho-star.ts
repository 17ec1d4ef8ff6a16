/** rho*: the smallest rho in [1, k] at which the K-SEQ residual is non-negative. */
import { beta, pAccFromBeta } from "./acceptance.ts";
import type { SparseDistribution } from "./types.ts";

/**
 * f(rho) = p_acc(rho) - rho beta(rho). f(1) >= 0, f(k) <= 0, f never increases, and the
 * residual p - gamma min(p/rho, q) is non-negative everywhere exactly when f(rho) <= 0
 * (gamma <= rho).
 */
export function rhoObjective(p: SparseDistribution, q: SparseDistribution, rho: number, k: number): number {
  const b = beta(p, q, rho);
  return pAccFromBeta(b, k) - rho * b;
}

/**
 * rho* by bisection on [1, k], run until the bracket is two adjacent doubles. The invariant is
 * f(lo) > 0 >= f(hi) as computed, and `hi` is returned: the smallest representable rho whose
 * computed f is <= 0, so the residual at rho* is non-negative up to rounding. Where f is 0 at 1
 * (k = 1, p = q, disjoint supports, ...) rho* = 1. k <= 1 gives 1.
 */
export function rhoStar(p: SparseDistribution, q: SparseDistribution, k: number): number {
  if (k <= 1) return 1;
  let lo = 1;
  let hi = k;
  if (rhoObjective(p, q, lo, k) <= 0) return lo;
  if (rhoObjective(p, q, hi, k) > 0) return hi; // only by rounding: f(k) <= 0 in exact arithmetic
  for (;;) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) return hi;
    if (rhoObjective(p, q, mid, k) > 0) lo = mid;
    else hi = mid;
  }
}
