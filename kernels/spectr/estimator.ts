/**
 * Online acceptance statistics: exponentially weighted counts of survivor transitions observed
 * in served blocks, so the engine can re-plan (K, L) as traffic changes. Pure: observeBlock
 * returns new statistics. Transitions are pooled over positions (more data per cell; position
 * effects are second order) and blended with a prior model where data are thin (e.g. a K
 * larger than any served so far).
 */
import type { AcceptanceModel } from "./acceptance-model.ts";
import type { SpectrBlockResult } from "./types.ts";

export interface AcceptanceStats {
  readonly maxK: number;
  /** Weight of the past per observed block: 2^(-1/halfLife). */
  readonly decay: number;
  /** transitions[k - 1][j]: weighted count of positions entered by k survivors and left by j. */
  readonly transitions: readonly Float64Array[];
  /** reached[t], matched[t]: weighted counts of blocks that evaluated position t / kept a survivor there. */
  readonly reached: Float64Array;
  readonly matched: Float64Array;
  /** Weighted counts of blocks and of the tokens they emitted. */
  readonly blocks: number;
  readonly tokens: number;
}

export function createAcceptanceStats({ maxK, maxL, halfLife = 200 }: { maxK: number; maxL: number; halfLife?: number }): AcceptanceStats {
  if (!(halfLife > 0)) throw new RangeError(`halfLife = ${halfLife} must be positive`);
  return {
    maxK,
    decay: 2 ** (-1 / halfLife),
    transitions: Array.from({ length: maxK }, (_, i) => new Float64Array(i + 2)),
    reached: new Float64Array(maxL),
    matched: new Float64Array(maxL),
    blocks: 0,
    tokens: 0,
  };
}

/** The statistics after one more block (older blocks weigh `decay` times less). */
export function observeBlock(stats: AcceptanceStats, block: SpectrBlockResult): AcceptanceStats {
  const { decay } = stats;
  const transitions = stats.transitions.map((row) => row.map((w) => w * decay));
  const reached = stats.reached.map((w) => w * decay);
  const matched = stats.matched.map((w) => w * decay);
  block.positions.forEach(({ survivorsBefore, survivorsAfter }, t) => {
    const row = transitions[survivorsBefore - 1];
    if (row === undefined) throw new RangeError(`block had ${survivorsBefore} drafts; statistics hold up to ${stats.maxK}`);
    row[survivorsAfter]! += 1;
    if (t < reached.length) {
      reached[t]! += 1;
      if (survivorsAfter > 0) matched[t]! += 1;
    }
  });
  return { ...stats, transitions, reached, matched, blocks: stats.blocks * decay + 1, tokens: stats.tokens * decay + block.tokens.length };
}

/** matched / reached per position: the acceptance rate by position (NaN where none observed). */
export function acceptanceRateByPosition(stats: AcceptanceStats): Float64Array {
  return stats.matched.map((m, t) => m / stats.reached[t]!);
}

/** Observed tokens per block (NaN before any block). */
export function observedBlockEfficiency(stats: AcceptanceStats): number {
  return stats.tokens / stats.blocks;
}

/**
 * The model the statistics support: for each k, the observed transition frequencies blended
 * with `prior` as if it had been seen `priorWeight` times (k beyond maxK: prior alone).
 */
export function estimatedAcceptanceModel(stats: AcceptanceStats, prior: AcceptanceModel, priorWeight = 4): AcceptanceModel {
  return {
    survivorTransition(k, position) {
      const guess = prior.survivorTransition(k, position);
      const counts = stats.transitions[k - 1];
      if (counts === undefined) return guess;
      const total = counts.reduce((a, b) => a + b, 0);
      return counts.map((count, j) => (count + priorWeight * guess[j]!) / (total + priorWeight));
    },
  };
}
