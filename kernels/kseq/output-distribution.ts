/** The exact output distribution of K-SEQ, computed in closed form from a plan. */
import { rejectAllFromBeta } from "./acceptance.ts";
import { probabilityOf } from "./sparse.ts";
import type { KseqPlan, SparseDistribution } from "./types.ts";

/**
 * P(output = x) = gamma min(q(x), p(x)/rho) + (1 - beta)^k residual(x), over the union of the
 * supports of p and q: draft i is reached with probability (1 - beta)^(i-1) and is x and
 * accepted with probability min(q(x), p(x)/rho), which sums over i to gamma min(q(x), p(x)/rho);
 * all k are rejected with probability (1 - beta)^k. With a point-mass p it is p.
 */
export function kseqOutputDistribution(plan: KseqPlan): SparseDistribution {
  if (plan.pointMass !== undefined) return plan.p;
  const tokens = Int32Array.from(new Set([...plan.p.tokens, ...plan.q.tokens])).sort();
  const rejectAll = rejectAllFromBeta(plan.beta, plan.k);
  const probs = new Float64Array(tokens.length);
  tokens.forEach((token, i) => {
    const px = probabilityOf(plan.p, token);
    const fromDrafts = px > 0 ? plan.gamma * Math.min(probabilityOf(plan.q, token), px / plan.rho) : 0;
    probs[i] = fromDrafts + rejectAll * probabilityOf(plan.residual, token);
  });
  return { tokens, probs };
}
