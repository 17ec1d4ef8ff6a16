/**
 * The Bayes decision rules: for a belief p over answers and a loss m, the answer v minimizing
 * E_{y~p}[m(y, v)]. Closed forms for the four named metrics, and the argmin over a candidate set
 * for any other loss. Ties are broken deterministically so that equal beliefs give equal answers.
 */
import type { Belief } from "./distribution.ts";

/** Cumulative sums within this of tau count as reaching it (weights are sums of rounded probabilities). */
const CUMULATIVE_TOLERANCE = 1e-12;

/** Squared error: the mean. */
export function mean(belief: Belief<number>): number {
  let sum = 0;
  for (const { value, weight } of belief) sum += value * weight;
  return sum;
}

/**
 * Pinball loss at level tau in (0, 1): the lower tau-quantile, the smallest value v of the
 * support with P(y <= v) >= tau. When P(y <= v) equals tau exactly every point between v and
 * the next value is optimal; the lower end is taken so that the answer is always one the
 * belief holds (a rating the model could give).
 */
export function quantile(belief: Belief<number>, tau: number): number {
  if (!(tau > 0 && tau < 1)) throw new RangeError(`quantile level ${tau} is outside (0, 1)`);
  const sorted = [...belief].filter(({ weight }) => weight > 0).sort((a, b) => a.value - b.value);
  if (sorted.length === 0) throw new RangeError("an empty belief has no quantile");
  let cumulative = 0;
  for (const { value, weight } of sorted) {
    cumulative += weight;
    if (cumulative >= tau - CUMULATIVE_TOLERANCE) return value;
  }
  return sorted[sorted.length - 1]!.value;
}

/** Absolute error: the (lower) median. */
export function median(belief: Belief<number>): number {
  return quantile(belief, 0.5);
}

/** Exact match: the most probable value; ties go to the one appearing first in the belief. */
export function mode<T>(belief: Belief<T>): T {
  if (belief.length === 0) throw new RangeError("an empty belief has no mode");
  let best = belief[0]!;
  for (const entry of belief) if (entry.weight > best.weight) best = entry;
  return best.value;
}

/** A loss m(y, v): the cost of answering v when the truth is y. */
export type Loss<T> = (truth: T, answer: T) => number;

/** E_{y~belief}[loss(y, answer)]. */
export function expectedLoss<T>(belief: Belief<T>, answer: T, loss: Loss<T>): number {
  let sum = 0;
  for (const { value, weight } of belief) if (weight > 0) sum += weight * loss(value, answer);
  return sum;
}

/** Any loss: the candidate with the least expected loss (ties: the first candidate), with that loss. */
export function argminLoss<T>(belief: Belief<T>, candidates: readonly T[], loss: Loss<T>): { answer: T; expectedLoss: number } {
  if (candidates.length === 0) throw new RangeError("argmin over no candidates");
  let answer: T = candidates[0]!;
  let least = expectedLoss(belief, answer, loss);
  for (const candidate of candidates.slice(1)) {
    const value = expectedLoss(belief, candidate, loss);
    if (value < least) {
      answer = candidate;
      least = value;
    }
  }
  return { answer, expectedLoss: least };
}
