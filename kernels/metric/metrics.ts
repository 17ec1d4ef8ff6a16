/**
 * The metrics a client can name, their losses, and the Bayes decision for each: mean for squared
 * error, median for absolute error, mode for exact match, the tau-quantile for pinball loss.
 */
import type { Belief } from "./distribution.ts";
import { expectedLoss, mean, median, mode, quantile, type Loss } from "./rules.ts";

export type Metric =
  | { readonly kind: "squared_error" }
  | { readonly kind: "absolute_error" }
  | { readonly kind: "exact_match" }
  | { readonly kind: "pinball"; readonly quantile: number };

/** An answer is a number (number and integer parsers) or a label. */
export type Answer = number | string;

export interface Decision<T extends Answer> {
  readonly answer: T | number;
  /** E_{y~belief}[metric(y, answer)]; for exact match, 1 - P(answer). */
  readonly expectedLoss: number;
}

export const squaredError: Loss<number> = (truth, answer) => (truth - answer) ** 2;
export const absoluteError: Loss<number> = (truth, answer) => Math.abs(truth - answer);
export const exactMatchLoss: Loss<Answer> = (truth, answer) => (truth === answer ? 0 : 1);

export function pinballLoss(tau: number): Loss<number> {
  return (truth, answer) => (truth >= answer ? tau * (truth - answer) : (1 - tau) * (answer - truth));
}

/** Whether the metric compares numbers (labels can only be scored by exact match). */
export function isNumeric(metric: Metric): boolean {
  return metric.kind !== "exact_match";
}

/**
 * The Bayes decision for `metric` under `belief`. Numeric metrics need numeric answers; the
 * mean may fall between the values the belief holds (3.4 for ratings 1..5): that is the
 * squared-error optimum, not rounded to a rating.
 */
export function decide<T extends Answer>(metric: Metric, belief: Belief<T>): Decision<T> {
  if (metric.kind === "exact_match") {
    const answer = mode(belief);
    return { answer, expectedLoss: expectedLoss<Answer>(belief, answer, exactMatchLoss) };
  }
  const numbers = numericBelief(belief);
  switch (metric.kind) {
    case "squared_error": {
      const answer = mean(numbers);
      return { answer, expectedLoss: expectedLoss(numbers, answer, squaredError) };
    }
    case "absolute_error": {
      const answer = median(numbers);
      return { answer, expectedLoss: expectedLoss(numbers, answer, absoluteError) };
    }
    case "pinball": {
      const answer = quantile(numbers, metric.quantile);
      return { answer, expectedLoss: expectedLoss(numbers, answer, pinballLoss(metric.quantile)) };
    }
  }
}

function numericBelief(belief: Belief<Answer>): Belief<number> {
  for (const { value } of belief) if (typeof value !== "number") throw new TypeError(`a numeric metric needs numbers, got ${JSON.stringify(value)}`);
  return belief as Belief<number>;
}
