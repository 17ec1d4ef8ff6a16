/** Drafts for temperature 0, where p is a point mass and acceptance is exact match. */
import type { SparseDistribution } from "./types.ts";

/**
 * The k most likely distinct tokens of q with positive probability (fewer if q has fewer),
 * most likely first, ties broken by the smaller token id. Only exact when p is a point mass:
 * then the output is that token whatever the drafts, and these maximise the chance one of
 * them matches. With any other p, drafts must be sampled i.i.d. from q.
 */
export function greedyDrafts(q: SparseDistribution, k: number): number[] {
  const order: number[] = [];
  for (let i = 0; i < q.tokens.length; i++) if (q.probs[i]! > 0) order.push(i);
  order.sort((a, b) => q.probs[b]! - q.probs[a]! || q.tokens[a]! - q.tokens[b]!);
  return order.slice(0, Math.max(0, k)).map((i) => q.tokens[i]!);
}
