/**
 * Token-level K-SEQ from SpecTr (Sun et al., NeurIPS 2023, arXiv 2310.15141): given a target
 * distribution p, a draft distribution q and k drafts drawn i.i.d. from q, select one token
 * whose distribution is exactly p, accepting a draft as often as possible.
 *
 * Notation: p = TARGET, q = DRAFT, as in /work/shared/papers/spectr.md. The paper uses the
 * opposite letters, so when comparing with it swap p and q in every ratio.
 *
 *   beta(rho)  = sum_x min(p(x)/rho, q(x))          (one draft accepted)
 *   p_acc(rho) = 1 - (1 - beta(rho))^k              (some draft accepted)
 *   rho*       = root on [1, k] of p_acc(rho) - rho beta(rho)
 *   accept X_i with probability min(1, p(X_i) / (rho* q(X_i))), first accepted wins;
 *   else sample p_res(x) ∝ max(0, p(x) - gamma min(p(x)/rho*, q(x))), gamma = p_acc / beta.
 *
 * Choices where the paper is silent or ambiguous:
 * - rho*: f(rho) = p_acc - rho beta can be 0 on an interval (p = q: all of [1, k]; disjoint
 *   supports: everywhere); we take the smallest rho whose computed f is <= 0 up to rounding
 *   (f <= 32 eps rho beta), by bisection down to adjacent doubles (rho-star.ts). k <= 1 gives 1
 *   (standard speculative sampling). "Residual >= 0 iff rho >= rho*" holds only when some x has
 *   0 < p(x)/rho <= q(x); otherwise a smaller rho is just as exact (nothing depends on it).
 * - beta = 0 (no token in both supports): gamma = 0, no draft is accepted, the residual is p.
 * - A draft with q(x) = 0 (impossible for i.i.d. drafts from q) or p(x) = 0 is rejected.
 * - The residual max(0, .) only clips rounding: a weight below -1e-10 p(x) means rho < rho*
 *   and throws NegativeResidualError rather than silently biasing the output (residual.ts);
 *   the paper's max(0, .) would hide exactly that error.
 *   If the residual has no mass left (all-rejected has probability 0), it is p.
 * - p a point mass (temperature 0): a draft is accepted iff it equals that token. K-SEQ does
 *   this at rho* anyway; doing it explicitly keeps it exact for greedy (non-sampled) drafts.
 * - k = 0: the token is sampled from p.
 * - p and q must be normalised (within 1e-9), after all of the request's sampling transforms.
 *
 * Representation: SparseDistribution (types.ts), sorted Int32Array token ids with a parallel
 * Float64Array of probabilities. All arithmetic is float64.
 *
 * Use: planKseq(p, q, k) once per position, then selectWithPlan(plan, drafts, chance) per
 * selection; kseqSelect(p, q, drafts, random) does both.
 */
export type { Chance, KseqPlan, KseqSelection, Overlap, SparseDistribution } from "./types.ts";
export {
  checkNormalised,
  indexOfToken,
  normalise,
  pointMassToken,
  probabilityOf,
  sparseFromDense,
  sparseFromEntries,
  sparseFromMap,
  totalMass,
} from "./sparse.ts";
export { acceptanceProbability, beta, betaOfOverlap, gammaFromBeta, overlap, pAcc, pAccFromBeta, rejectAllFromBeta } from "./acceptance.ts";
export { RHO_TOLERANCE, rhoObjective, rhoStar } from "./rho-star.ts";
export { betaCurve, evaluateBetaCurve, type BetaCurve } from "./beta-curve.ts";
export { NegativeResidualError, RESIDUAL_TOLERANCE, residualDistribution, residualWeight, residualWeights } from "./residual.ts";
export { planKseq, type KseqPlanOptions } from "./plan.ts";
export { kseqSelect, selectWithPlan, uniformChance } from "./select.ts";
export { kseqOutputDistribution } from "./output-distribution.ts";
export { greedyDrafts } from "./greedy.ts";
export { sampleSparse } from "./sample.ts";
