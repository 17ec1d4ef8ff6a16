/**
 * The answer set of grid scoring: candidate texts, given as a list or as a numeric range with a
 * step, each parsed into its answer. A candidate that does not parse, or two that parse to the
 * same answer, are refused: the grid's probabilities must belong to distinct answers.
 */
import type { Answer } from "./metrics.ts";
import { formatNumber, parse, type Parser } from "./parsers.ts";

export interface NumericRange {
  readonly from: number;
  readonly to: number;
  readonly step: number;
}

export interface Candidate {
  readonly text: string;
  readonly answer: Answer;
}

/** A range's values from `from` to `to` inclusive, computed as from + i x step (no drift from repeated addition). */
export function rangeValues(range: NumericRange, limit: number): number[] {
  const { from, to, step } = range;
  if (!(step > 0) || !Number.isFinite(step)) throw new RangeError("step must be a positive number");
  if (!(to >= from)) throw new RangeError("to must be at least from");
  // Slack for ranges like 0..1 by 0.1, whose last value is 9.999999999999998 steps away.
  const count = Math.floor((to - from) / step + 1e-9) + 1;
  if (count > limit) throw new RangeError(`the range has ${count} values, more than ${limit}`);
  return Array.from({ length: count }, (_, i) => Number((from + i * step).toPrecision(12)));
}

export class CandidateError extends Error {}

/**
 * Parses every candidate text. The grid scores each text exactly as it would follow the prompt,
 * so " 4" and "4" are different continuations of the same answer (and cannot both be given).
 */
export function candidateSet(texts: readonly string[], parser: Parser): Candidate[] {
  if (texts.length === 0) throw new CandidateError("the candidate set is empty");
  const seen = new Map<Answer, string>();
  return texts.map((text) => {
    const answer = parse(parser, text);
    if (answer === null) throw new CandidateError(`candidate ${JSON.stringify(text)} does not parse as ${parser.kind === "labels" ? "one of the labels" : `a${parser.kind === "integer" ? "n" : ""} ${parser.kind}`}`);
    const earlier = seen.get(answer);
    if (earlier !== undefined) throw new CandidateError(`candidates ${JSON.stringify(earlier)} and ${JSON.stringify(text)} are the same answer`);
    seen.set(answer, text);
    return { text, answer };
  });
}

/** A numeric range's candidate texts, each value written as formatNumber writes it, after `prefix`. */
export function rangeTexts(range: NumericRange, prefix: string, limit: number): string[] {
  return rangeValues(range, limit).map((value) => prefix + formatNumber(value));
}
