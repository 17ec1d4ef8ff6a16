/** Temperature 0: drafts are the K most likely distinct first tokens, each continued greedily. */
import { greedyDrafts, type SparseDistribution } from "../kseq/index.ts";

/** The most likely token (ties: the smallest id), as plain greedy decoding picks it. */
export function argmaxToken(d: SparseDistribution): number {
  let best = -1;
  for (let i = 0; i < d.tokens.length; i++) if (best < 0 ? d.probs[i]! > 0 : d.probs[i]! > d.probs[best]!) best = i;
  if (best < 0) throw new RangeError("argmax of a distribution with no mass");
  return d.tokens[best]!;
}

/**
 * The first tokens of the K greedy drafts: the K most likely distinct tokens of the draft's
 * first distribution q(. | c), most likely first (fewer if q has fewer tokens with mass).
 * Distinct first tokens are what make K > 1 useful at temperature 0: K copies of the same
 * greedy draft would match or miss together.
 */
export function greedyFirstTokens(q0: SparseDistribution, k: number): number[] {
  return greedyDrafts(q0, k);
}

/**
 * The K greedy draft continuations of length L: draft i starts with the i-th most likely
 * distinct token of q(. | c) and continues with argmax q. `draftNext(prefix)` is the draft's
 * distribution after c + prefix (prefix relative to the context). L = 0 gives K empty drafts.
 */
export function greedyContinuations(k: number, l: number, draftNext: (prefix: readonly number[]) => SparseDistribution): number[][] {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k = ${k} must be a positive integer`);
  if (!Number.isInteger(l) || l < 0) throw new RangeError(`l = ${l} must be a non-negative integer`);
  if (l === 0) return Array.from({ length: k }, () => []);
  return greedyFirstTokens(draftNext([]), k).map((first) => {
    const draft = [first];
    while (draft.length < l) draft.push(argmaxToken(draftNext(draft)));
    return draft;
  });
}
