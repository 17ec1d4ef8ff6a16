/**
 * Pearson's chi-square goodness of fit, for testing samplers (token-level here; sequence-level
 * n-gram checks can reuse it). The p-value is the regularized upper incomplete gamma function
 * Q(df/2, x/2): series for x < a + 1, Lentz's continued fraction otherwise (Numerical Recipes
 * 6.2), with a Lanczos log-gamma; about 1e-14 relative accuracy.
 */

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const EPSILON = 1e-16;
const TINY = 1e-300;
const MAX_ITERATIONS = 10_000;

/** P(a, x) by its series, for x < a + 1. */
function lowerGammaSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= x / (a + n);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * EPSILON) break;
  }
  return sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
}

/** Q(a, x) by its continued fraction, for x >= a + 1. */
function upperGammaFraction(a: number, x: number): number {
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPSILON) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a), a > 0, x >= 0. */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) throw new RangeError(`Q(${a}, ${x}) is undefined`);
  if (x === 0) return 1;
  return x < a + 1 ? 1 - lowerGammaSeries(a, x) : upperGammaFraction(a, x);
}

/** P(X >= statistic) for X ~ chi-square with df degrees of freedom. */
export function chiSquareSurvival(statistic: number, df: number): number {
  return regularizedGammaQ(df / 2, statistic / 2);
}

export interface ChiSquareResult {
  statistic: number;
  df: number;
  pValue: number;
}

/**
 * Goodness of fit of `observed` counts to `expected` probabilities (same order; they should
 * sum to 1). Bins with an expected count under `minExpected` are pooled into one so the
 * chi-square approximation holds; an observed count in a bin of probability 0 gives p = 0.
 */
export function chiSquareTest(observed: ArrayLike<number>, expected: ArrayLike<number>, minExpected = 5): ChiSquareResult {
  if (observed.length !== expected.length) throw new RangeError("observed and expected differ in length");
  let n = 0;
  for (let i = 0; i < observed.length; i++) n += observed[i]!;
  let statistic = 0;
  let bins = 0;
  let pooledObserved = 0;
  let pooledExpected = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]! * n;
    const o = observed[i]!;
    if (e <= 0 && o > 0) return { statistic: Infinity, df: Math.max(1, bins), pValue: 0 };
    if (e < minExpected) {
      pooledObserved += o;
      pooledExpected += e;
      continue;
    }
    statistic += (o - e) ** 2 / e;
    bins++;
  }
  if (pooledExpected > 0) {
    statistic += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    bins++;
  }
  const df = Math.max(1, bins - 1);
  return { statistic, df, pValue: chiSquareSurvival(statistic, df) };
}
