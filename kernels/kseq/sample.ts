/** Inverse-CDF sampling from a sparse distribution. */
import type { SparseDistribution } from "./types.ts";

/**
 * The token whose cumulative interval contains the uniform draw `u` in [0, 1). `d` should be
 * normalised; if rounding leaves the total just under 1 and `u` falls past it, the last token
 * with positive probability is returned. Zero-probability tokens are never returned.
 */
export function sampleSparse(d: SparseDistribution, u: number): number {
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < d.tokens.length; i++) {
    const prob = d.probs[i]!;
    if (prob <= 0) continue;
    cumulative += prob;
    last = i;
    if (u < cumulative) return d.tokens[i]!;
  }
  if (last < 0) throw new RangeError("cannot sample from a distribution with no mass");
  return d.tokens[last]!;
}
