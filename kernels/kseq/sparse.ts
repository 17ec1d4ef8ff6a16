/** Building, checking and reading sparse distributions (see types.ts for the layout). */
import { compensatedSum } from "./sum.ts";
import type { SparseDistribution } from "./types.ts";

/** How far from 1 the mass of an input distribution may be. */
export const NORMALISATION_TOLERANCE = 1e-9;

/** From (token, probability) pairs in any order; a token may appear once. */
export function sparseFromEntries(entries: Iterable<readonly [number, number]>): SparseDistribution {
  const sorted = [...entries].sort((a, b) => a[0] - b[0]);
  const tokens = new Int32Array(sorted.length);
  const probs = new Float64Array(sorted.length);
  sorted.forEach(([token, prob], i) => {
    tokens[i] = token;
    probs[i] = prob;
  });
  return checkSparse({ tokens, probs });
}

export function sparseFromMap(map: ReadonlyMap<number, number>): SparseDistribution {
  return sparseFromEntries(map.entries());
}

/** From a dense row indexed by token id, keeping the entries above `threshold` (default: > 0). */
export function sparseFromDense(row: ArrayLike<number>, threshold = 0): SparseDistribution {
  const kept: number[] = [];
  for (let token = 0; token < row.length; token++) if ((row[token] ?? 0) > threshold) kept.push(token);
  const probs = new Float64Array(kept.length);
  kept.forEach((token, i) => (probs[i] = row[token] ?? 0));
  return checkSparse({ tokens: Int32Array.from(kept), probs });
}

/** Throws unless tokens strictly increase and probabilities are finite and non-negative. */
export function checkSparse(d: SparseDistribution): SparseDistribution {
  if (d.tokens.length !== d.probs.length) throw new RangeError("tokens and probs differ in length");
  for (let i = 0; i < d.tokens.length; i++) {
    const prob = d.probs[i]!;
    if (!(prob >= 0) || prob === Infinity) throw new RangeError(`probability ${prob} of token ${d.tokens[i]} is not finite and >= 0`);
    if (i > 0 && d.tokens[i]! <= d.tokens[i - 1]!) throw new RangeError(`tokens must strictly increase (token ${d.tokens[i]})`);
  }
  return d;
}

/** Sum of the probabilities, with Neumaier compensation. */
export function totalMass(d: SparseDistribution): number {
  return compensatedSum(d.probs);
}

/** Throws unless the mass is 1 within NORMALISATION_TOLERANCE. */
export function checkNormalised(d: SparseDistribution, name: string): void {
  checkSparse(d);
  const mass = totalMass(d);
  if (!(Math.abs(mass - 1) <= NORMALISATION_TOLERANCE)) throw new RangeError(`${name} has mass ${mass}, not 1`);
}

/** The same distribution divided by its mass. */
export function normalise(d: SparseDistribution): SparseDistribution {
  const mass = totalMass(d);
  if (!(mass > 0)) throw new RangeError("cannot normalise a distribution with no mass");
  return { tokens: d.tokens, probs: d.probs.map((prob) => prob / mass) };
}

/** Index of `token` in `d.tokens`, or -1. */
export function indexOfToken(d: SparseDistribution, token: number): number {
  let lo = 0;
  let hi = d.tokens.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const found = d.tokens[mid]!;
    if (found === token) return mid;
    if (found < token) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

export function probabilityOf(d: SparseDistribution, token: number): number {
  const i = indexOfToken(d, token);
  return i < 0 ? 0 : d.probs[i]!;
}

/** The token holding all the mass, if exactly one token has positive probability. */
export function pointMassToken(d: SparseDistribution): number | undefined {
  let found: number | undefined;
  for (let i = 0; i < d.tokens.length; i++) {
    if (d.probs[i]! <= 0) continue;
    if (found !== undefined) return undefined;
    found = d.tokens[i]!;
  }
  return found;
}
