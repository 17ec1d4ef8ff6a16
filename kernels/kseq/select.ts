/** K-SEQ selection: accept the first of k drafts that passes its test, else sample the residual. */
import { acceptanceProbability } from "./acceptance.ts";
import { planKseq } from "./plan.ts";
import { sampleSparse } from "./sample.ts";
import { probabilityOf } from "./sparse.ts";
import type { Chance, KseqPlan, KseqSelection, SparseDistribution } from "./types.ts";

/** Decisions backed by a stream of uniforms in [0, 1): one per Bernoulli, one per categorical. */
export function uniformChance(random: () => number): Chance {
  return {
    bernoulli: (probability) => random() < probability,
    categorical: (distribution) => sampleSparse(distribution, random()),
  };
}

/**
 * Step 1: for i = 0..k-1, accept drafts[i] with probability min(1, p(x) / (rho q(x))); the
 * first accepted is returned. Step 2: all rejected, sample the residual. Certain outcomes
 * (probability 0 or 1) consume no randomness. When p is a point mass the draft is accepted
 * exactly when it equals that token, which is what K-SEQ does there anyway and stays exact
 * for drafts that were not sampled from q (greedyDrafts).
 */
export function selectWithPlan(plan: KseqPlan, drafts: ArrayLike<number>, chance: Chance): KseqSelection {
  if (drafts.length !== plan.k) throw new RangeError(`plan is for k = ${plan.k} drafts, got ${drafts.length}`);
  if (plan.pointMass !== undefined) {
    const token = plan.pointMass;
    for (let i = 0; i < drafts.length; i++) if (drafts[i] === token) return { token, acceptedIndex: i };
    return { token, acceptedIndex: -1 };
  }
  for (let i = 0; i < drafts.length; i++) {
    const token = drafts[i]!;
    const probability = acceptanceProbability(probabilityOf(plan.p, token), probabilityOf(plan.q, token), plan.rho);
    if (probability >= 1 || (probability > 0 && chance.bernoulli(probability))) return { token, acceptedIndex: i };
  }
  return { token: chance.categorical(plan.residual), acceptedIndex: -1 };
}

/**
 * One K-SEQ selection with k = drafts.length drafts drawn i.i.d. from q. Computes rho* each
 * call; to select many times for the same (p, q, k), plan once with planKseq and use
 * selectWithPlan.
 */
export function kseqSelect(p: SparseDistribution, q: SparseDistribution, drafts: ArrayLike<number>, random: () => number): KseqSelection {
  return selectWithPlan(planKseq(p, q, drafts.length), drafts, uniformChance(random));
}
