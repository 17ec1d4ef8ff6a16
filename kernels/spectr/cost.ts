/**
 * Choosing (K, L) by expected throughput. A SpecTr block costs L draft steps for a batch of K
 * sequences plus one target call on K x (L + 1) tokens (the last emitted token and the L draft
 * tokens of each draft), plus a fixed selection overhead, and emits blockEfficiency(K, L)
 * tokens on average. Plain decoding (K = L = 0) costs one target call on 1 token per token.
 *
 * Assumptions: costs depend only on the batch size (not on the context length, which grows
 * slowly within a request); the draft processes its first token of a block (the last emitted
 * one) inside its first step; a tree that de-duplicates shared prefixes would verify fewer
 * than K x (L + 1) tokens, so this is the pessimistic count; both models run serially.
 */
import { blockEfficiency, type AcceptanceModel } from "./acceptance-model.ts";

/** Milliseconds for one call on a batch of `batch` tokens (or sequences). */
export type CostCurve = (batch: number) => number;

/**
 * A cost curve through measured (batch, ms) points: piecewise linear between them, the first
 * value below the first point, and beyond the last point the last segment's slope (never
 * below the last value): costs keep growing with the batch.
 */
export function tableCostCurve(points: ReadonlyArray<readonly [batch: number, ms: number]>): CostCurve {
  if (points.length === 0) throw new RangeError("a cost table needs at least one point");
  const sorted = [...points].sort((a, b) => a[0] - b[0]);
  for (const [batch, ms] of sorted) if (!(batch > 0) || !(ms >= 0) || ms === Infinity) throw new RangeError(`bad cost point (${batch}, ${ms})`);
  return (batch) => {
    const first = sorted[0]!;
    if (batch <= first[0]) return first[1];
    for (let i = 1; i < sorted.length; i++) {
      const [b1, m1] = sorted[i]!;
      const [b0, m0] = sorted[i - 1]!;
      if (batch <= b1) return m0 + ((m1 - m0) * (batch - b0)) / (b1 - b0);
    }
    const last = sorted[sorted.length - 1]!;
    if (sorted.length === 1) return last[1];
    const before = sorted[sorted.length - 2]!;
    const slope = Math.max(0, (last[1] - before[1]) / (last[0] - before[0]));
    return last[1] + slope * (batch - last[0]);
  };
}

export interface SpeculationCosts {
  /** One draft decoding step for a batch of K sequences (one token each). */
  readonly draftStepMs: CostCurve;
  /** One target call on a batch of n tokens (verification: n = K (L + 1); plain: n = 1). */
  readonly targetMs: CostCurve;
  /** Fixed cost per speculative block: selection, transforms, bookkeeping (default 0). */
  readonly blockOverheadMs?: number;
  /** One plain decoding step, when it costs other than targetMs(1) (default targetMs(1)). */
  readonly plainMs?: number;
}

export interface SpeculationChoice {
  /** Drafts per block; 0 with l = 0 means plain decoding. */
  readonly k: number;
  /** Draft length. */
  readonly l: number;
  /** Expected tokens per block (per serial target call). */
  readonly blockEfficiency: number;
  readonly msPerBlock: number;
  readonly tokensPerSecond: number;
}

export function plainDecoding(costs: SpeculationCosts): SpeculationChoice {
  const ms = costs.plainMs ?? costs.targetMs(1);
  return { k: 0, l: 0, blockEfficiency: 1, msPerBlock: ms, tokensPerSecond: 1000 / ms };
}

/** The cost of one SpecTr block with K >= 1 drafts of length L >= 1. */
export function speculativeBlockMs(costs: SpeculationCosts, k: number, l: number): number {
  if (!Number.isInteger(k) || k < 1 || !Number.isInteger(l) || l < 1) throw new RangeError(`(K, L) = (${k}, ${l}): both must be positive integers`);
  return l * costs.draftStepMs(k) + costs.targetMs(k * (l + 1)) + (costs.blockOverheadMs ?? 0);
}

/** Expected throughput of SpecTr with K >= 1 drafts of length L >= 1. */
export function evaluateSpeculation(costs: SpeculationCosts, model: AcceptanceModel, k: number, l: number): SpeculationChoice {
  const ms = speculativeBlockMs(costs, k, l);
  const efficiency = blockEfficiency(model, k, l);
  return { k, l, blockEfficiency: efficiency, msPerBlock: ms, tokensPerSecond: (1000 * efficiency) / ms };
}

export interface ChooseOptions {
  /** Candidate K values (>= 1); default 1..8. */
  readonly ks?: readonly number[];
  /** Candidate L values (>= 1); default 1..8. */
  readonly ls?: readonly number[];
  /** Speculation must beat plain decoding by this fraction (default 0.05) to be chosen. */
  readonly minGain?: number;
}

export interface SpeculationPlan {
  /** The best candidate, or plain decoding when no candidate beats it by minGain. */
  readonly choice: SpeculationChoice;
  readonly plain: SpeculationChoice;
  /** Every candidate, best first. */
  readonly candidates: readonly SpeculationChoice[];
}

const ONE_TO_EIGHT = [1, 2, 3, 4, 5, 6, 7, 8];

/** Evaluates the (K, L) grid and picks the fastest, falling back to plain decoding. */
export function chooseSpeculation(costs: SpeculationCosts, model: AcceptanceModel, options: ChooseOptions = {}): SpeculationPlan {
  const { ks = ONE_TO_EIGHT, ls = ONE_TO_EIGHT, minGain = 0.05 } = options;
  const plain = plainDecoding(costs);
  const candidates = ks.flatMap((k) => ls.map((l) => evaluateSpeculation(costs, model, k, l)));
  candidates.sort((a, b) => b.tokensPerSecond - a.tokensPerSecond || a.k * (a.l + 1) - b.k * (b.l + 1));
  const best = candidates[0];
  const choice = best !== undefined && best.tokensPerSecond > plain.tokensPerSecond * (1 + minGain) ? best : plain;
  return { choice, plain, candidates };
}
