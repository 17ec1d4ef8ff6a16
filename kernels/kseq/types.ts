/** Types of the token-level K-SEQ kernel (see index.ts for notation: p = target, q = draft). */

/**
 * A probability distribution over token ids, stored sparsely as two parallel arrays.
 *
 * - `tokens` are strictly increasing token ids (so lookup is a binary search, O(log n), and two
 *   distributions are walked together by a merge, O(n + m));
 * - `probs[i]` is the probability of `tokens[i]`: finite and >= 0 (explicit zeros are allowed);
 *   a token that is absent has probability 0.
 *
 * Float64 throughout. For a vocabulary of a few thousand whose mass sits on a few tokens, the
 * arrays hold only what survived the sampling transforms (top-k, top-p, min-p, ...), and a full
 * row costs 12 bytes a token with no hashing.
 */
export interface SparseDistribution {
  readonly tokens: Int32Array;
  readonly probs: Float64Array;
}

/** p and q on the tokens in both supports, aligned: all that beta(rho) depends on. */
export interface Overlap {
  readonly p: Float64Array;
  readonly q: Float64Array;
}

/** Everything K-SEQ needs for one position, computed once for (p, q, k) and reused per draw. */
export interface KseqPlan {
  /** Target distribution. */
  readonly p: SparseDistribution;
  /** Draft distribution the k drafts were drawn from, i.i.d. */
  readonly q: SparseDistribution;
  /** Number of drafts. */
  readonly k: number;
  /** The rho in use, normally rho* (see rho-star.ts). */
  readonly rho: number;
  /** beta(rho) = sum_x min(p(x)/rho, q(x)): the chance that one draft is accepted. */
  readonly beta: number;
  /** p_acc(rho) = 1 - (1 - beta)^k: the chance that some draft is accepted. */
  readonly acceptance: number;
  /** gamma = p_acc / beta (0 when beta = 0: no draft can ever be accepted). */
  readonly gamma: number;
  /** The normalised residual, sampled when all k drafts are rejected. */
  readonly residual: SparseDistribution;
  /** The token when p is a point mass (temperature 0): acceptance is then exact match. */
  readonly pointMass: number | undefined;
}

/** The outcome of one K-SEQ selection. */
export interface KseqSelection {
  readonly token: number;
  /** Index of the accepted draft, or -1 when the token came from the residual. */
  readonly acceptedIndex: number;
}

/**
 * The source of randomness K-SEQ consumes, as decisions rather than raw uniforms: a sampler
 * backs it with a seeded uniform stream, a test backs it with exhaustive enumeration of every
 * branch (so the enumeration runs the very code that serves).
 */
export interface Chance {
  /** True with the given probability, in (0, 1). */
  bernoulli(probability: number): boolean;
  /** A token drawn from a normalised distribution. */
  categorical(distribution: SparseDistribution): number;
}
