/**
 * A discrete belief over answers: each distinct value with its probability. Estimators hand in
 * observations with weights (Monte Carlo samples weigh 1 each; grid scoring weighs candidates by
 * the model's probability); the decision rules read the normalized form.
 */
export interface Weighted<T> {
  readonly value: T;
  readonly weight: number;
}

/** Distinct values with probabilities summing to 1, in order of first appearance. */
export type Belief<T> = readonly Weighted<T>[];

/**
 * Merges equal values (by `key`, default the value itself) and scales the weights to sum to 1.
 * Zero-weight values are kept (they are part of the answer set); negative or non-finite weights
 * are refused, and so is a total of zero: there is no belief to decide from.
 */
export function normalize<T>(observations: readonly Weighted<T>[], key: (value: T) => unknown = (value) => value): Belief<T> {
  const merged = new Map<unknown, { value: T; weight: number }>();
  let total = 0;
  for (const { value, weight } of observations) {
    if (!(weight >= 0) || !Number.isFinite(weight)) throw new RangeError(`weight ${weight} is not a finite non-negative number`);
    const k = key(value);
    const entry = merged.get(k);
    if (entry === undefined) merged.set(k, { value, weight });
    else entry.weight += weight;
    total += weight;
  }
  if (!(total > 0)) throw new RangeError("a belief needs positive total weight");
  return [...merged.values()].map(({ value, weight }) => ({ value, weight: weight / total }));
}

/** Equal weights: the empirical law of Monte Carlo samples. */
export function empirical<T>(values: readonly T[], key?: (value: T) => unknown): Belief<T> {
  return normalize(values.map((value) => ({ value, weight: 1 })), key);
}
