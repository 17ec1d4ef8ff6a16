/** The K-SEQ residual: what p still needs after the accepted drafts have taken their share. */
import { compensatedSum } from "./sum.ts";
import type { SparseDistribution } from "./types.ts";

/**
 * A residual weight below -RESIDUAL_TOLERANCE * p(x) is an error (rho below rho*), not
 * rounding. At rho* the computed weight is p(x) (1 - gamma/rho) >= 0 up to a few ulps of p(x)
 * (up to RHO_TOLERANCE = 32 ulps where rho* = 1 was accepted with f(1) rounded above 0).
 */
export const RESIDUAL_TOLERANCE = 1e-10;

/** The exact, unclamped residual weight p(x) - gamma min(p(x)/rho, q(x)); may be negative. */
export function residualWeight(px: number, qx: number, rho: number, gamma: number): number {
  if (!(px > 0)) return 0;
  return px - gamma * Math.min(px / rho, qx);
}

/**
 * The exact residual weights on the support of p (where p(x) = 0 the weight is 0), unclamped
 * and unnormalised: their sum is (1 - beta)^k when gamma = p_acc / beta.
 */
export function residualWeights(p: SparseDistribution, q: SparseDistribution, rho: number, gamma: number): SparseDistribution {
  const weights = new Float64Array(p.tokens.length);
  let j = 0;
  for (let i = 0; i < p.tokens.length; i++) {
    const token = p.tokens[i]!;
    while (j < q.tokens.length && q.tokens[j]! < token) j++;
    const qx = j < q.tokens.length && q.tokens[j] === token ? q.probs[j]! : 0;
    weights[i] = residualWeight(p.probs[i]!, qx, rho, gamma);
  }
  return { tokens: p.tokens, probs: weights };
}

export class NegativeResidualError extends RangeError {
  constructor(readonly token: number, readonly weight: number, readonly px: number) {
    super(`residual weight ${weight} of token ${token} (p = ${px}) is negative beyond rounding: rho is below rho*`);
    this.name = "NegativeResidualError";
  }
}

/**
 * The residual sampled when every draft is rejected: the weights with negatives from rounding
 * (within RESIDUAL_TOLERANCE of p(x)) set to 0, then normalised. A larger negative throws
 * NegativeResidualError. If no mass is left (all-rejected then has probability 0, up to
 * rounding) the residual is p itself.
 */
export function residualDistribution(p: SparseDistribution, q: SparseDistribution, rho: number, gamma: number): SparseDistribution {
  const { tokens, probs } = residualWeights(p, q, rho, gamma);
  for (let i = 0; i < probs.length; i++) {
    const weight = probs[i]!;
    if (weight >= 0) continue;
    const px = p.probs[i]!;
    if (weight < -RESIDUAL_TOLERANCE * px) throw new NegativeResidualError(tokens[i]!, weight, px);
    probs[i] = 0;
  }
  const mass = compensatedSum(probs);
  if (!(mass > 0)) return p;
  return { tokens, probs: probs.map((weight) => weight / mass) };
}
