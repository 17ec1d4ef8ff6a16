/** Types of sequence-level SpecTr (see index.ts for the algorithm; p = target, q = draft). */
import type { KseqPlan, SparseDistribution } from "../kseq/index.ts";

/**
 * One distribution per (draft k, position t): either rows indexed [k][t], or an accessor, so
 * that a caller can compute (transform) a distribution only when the selection reads it.
 * selectBlock reads only the distributions of the lowest-indexed surviving draft, plus the
 * other survivors' when it checks that they agree (SelectBlockOptions.survivorTolerance).
 */
export type DistributionGrid = ReadonlyArray<ReadonlyArray<SparseDistribution>> | ((draft: number, position: number) => SparseDistribution);

/** The inputs of one SpecTr block from a context c. */
export interface SpectrBlock {
  /** K >= 1 draft continuations, each of the same length L >= 0 (token ids). Duplicates allowed. */
  readonly drafts: ReadonlyArray<ArrayLike<number>>;
  /**
   * q[k][t], t = 0..L-1: the draft distribution draft k's token t was sampled from, i.e.
   * q(. | c, drafts[k][0..t-1]) AFTER the request's sampling transforms. Not read at
   * temperature 0 (and may then be omitted).
   */
  readonly q?: DistributionGrid;
  /**
   * p[k][t], t = 0..L: the target's next-token distribution after c + drafts[k][0..t-1], after
   * the same transforms; t = L is the bonus position.
   */
  readonly p: DistributionGrid;
}

/** Plans K-SEQ for one position (default: planKseq, i.e. rho* for k = the survivors). */
export type KseqPlanner = (p: SparseDistribution, q: SparseDistribution, k: number, position: number) => KseqPlan;

export interface SelectBlockOptions {
  /**
   * Temperature 0: the output at every position is argmax p (ties: smallest token id), drafts
   * survive iff they equal it, q is not read. Drafts need not be i.i.d. (greedyContinuations).
   * Without the flag a point-mass p gets the same treatment from K-SEQ itself.
   */
  readonly temperatureZero?: boolean;
  /** How K-SEQ is planned per position; an extension point (plan caches, tests). */
  readonly planner?: KseqPlanner;
  /**
   * Largest max |difference| allowed between the lead survivor's p (and q) and another
   * survivor's at the same position before SurvivorMismatchError is thrown; they describe the
   * same prefix, so they should be equal. Identical objects are never compared. Default 1e-6;
   * Infinity skips the check (and the reads it costs).
   */
  readonly survivorTolerance?: number;
  /**
   * A token that ends the block when emitted, with no survivors: a lumped "rest of the
   * vocabulary" outcome that the caller resolves into a real token itself (see the engine's
   * head-and-tail distributions). Drafts must hold it where their real token was in that rest.
   */
  readonly stopToken?: number;
}

/** What happened at one draft position t (0-based; the paper's t + 1). */
export interface PositionOutcome {
  /** Drafts entering the position: the k of K-SEQ. */
  readonly survivorsBefore: number;
  /** Drafts whose token t equals the emitted token; 0 ends the block. */
  readonly survivorsAfter: number;
  /** Index (into SpectrBlock.drafts) of the draft K-SEQ accepted, or -1 (residual). */
  readonly acceptedDraft: number;
  /** p_acc of the plan: the exact chance some draft was accepted here (1 or 0 at temperature 0). */
  readonly acceptance: number;
}

export interface SpectrBlockResult {
  /** Emitted tokens, 1..L+1 of them; distributed exactly as the target's continuation of c. */
  readonly tokens: readonly number[];
  /**
   * How many emitted tokens a surviving draft also holds: tokens.length - 1. The last token is
   * the bonus (when all L positions kept a survivor) or a residual token (otherwise).
   */
  readonly draftTokens: number;
  /** Drafts that hold all draftTokens matched tokens (their caches are valid that far). */
  readonly survivors: readonly number[];
  /** accepted[t]: K-SEQ accepted a draft at position t (one entry per position evaluated). */
  readonly accepted: readonly boolean[];
  /** One entry per position evaluated (draftTokens + 1, or L when the bonus was emitted). */
  readonly positions: readonly PositionOutcome[];
  /** True when the last token is the bonus, sampled from p at position L. */
  readonly bonus: boolean;
}
