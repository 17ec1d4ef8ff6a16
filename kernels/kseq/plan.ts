/** The K-SEQ plan for one position: rho*, beta, p_acc, gamma and the residual, computed once. */
import { beta as betaOf, gammaFromBeta, pAccFromBeta } from "./acceptance.ts";
import { residualDistribution } from "./residual.ts";
import { rhoStar } from "./rho-star.ts";
import { checkNormalised, pointMassToken } from "./sparse.ts";
import type { KseqPlan, SparseDistribution } from "./types.ts";

export interface KseqPlanOptions {
  /**
   * Use this rho instead of rho*. Any rho >= rho* is exact (rho* maximises acceptance). One
   * below rho* makes the residual negative wherever 0 < p(x)/rho <= q(x), and planKseq then
   * throws NegativeResidualError.
   */
  rho?: number;
}

/** Plans K-SEQ for target p, draft q and k drafts; both must be normalised. */
export function planKseq(p: SparseDistribution, q: SparseDistribution, k: number, options: KseqPlanOptions = {}): KseqPlan {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`k = ${k} must be a non-negative integer`);
  checkNormalised(p, "p (target)");
  checkNormalised(q, "q (draft)");
  const rho = options.rho ?? rhoStar(p, q, k);
  if (!(rho >= 1) || rho === Infinity) throw new RangeError(`rho = ${rho} must be finite and >= 1`);
  const beta = betaOf(p, q, rho);
  const gamma = gammaFromBeta(beta, k);
  return {
    p,
    q,
    k,
    rho,
    beta,
    acceptance: pAccFromBeta(beta, k),
    gamma,
    residual: residualDistribution(p, q, rho, gamma),
    pointMass: pointMassToken(p),
  };
}
