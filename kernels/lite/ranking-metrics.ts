/** Ranking quality for one query with one relevant document (the inverse-cloze setting). */

/** Rank (0-based) of candidate `relevant` under `scores`; ties count against it. */
export function rankOf(scores: readonly number[], relevant: number): number {
  const target = scores[relevant]!;
  let rank = 0;
  scores.forEach((score, i) => {
    if (i !== relevant && score >= target) rank++;
  });
  return rank;
}

export function reciprocalRankAt(scores: readonly number[], relevant: number, cutoff = 10): number {
  const rank = rankOf(scores, relevant);
  return rank < cutoff ? 1 / (rank + 1) : 0;
}

/** nDCG@cutoff with one relevant document: the ideal DCG is 1. */
export function ndcgAt(scores: readonly number[], relevant: number, cutoff = 10): number {
  const rank = rankOf(scores, relevant);
  return rank < cutoff ? 1 / Math.log2(rank + 2) : 0;
}
