/**
 * Turning a model's text into an answer: the first number in it, the first integer, or the
 * label it starts with. null means unparsable (the estimators count those and leave them out).
 */
import type { Answer } from "./metrics.ts";

export type Parser =
  | { readonly kind: "number" }
  | { readonly kind: "integer" }
  | { readonly kind: "labels"; readonly labels: readonly string[] };

/**
 * A decimal number with optional sign, fraction and exponent. A leading "-" or Unicode minus
 * counts as the sign; thousands separators do not exist here ("1,000" reads as 1: commas also
 * separate list items, and guessing between the two would be worse than being predictable).
 */
const NUMBER = /[-+\u2212]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/;

/** Larger magnitudes are unparsable: sums of squares of up to thousands of answers must stay finite. */
export const MAX_MAGNITUDE = 1e150;

/** The first number in `text`, or null. */
export function parseNumber(text: string): number | null {
  const match = NUMBER.exec(text);
  if (match === null) return null;
  const value = Number(match[0].replace("\u2212", "-"));
  return Math.abs(value) <= MAX_MAGNITUDE ? value : null;
}

/** The first number in `text` when it is an integer ("4", "4.", "4.0"), else null ("3.5" is not an integer answer). */
export function parseInteger(text: string): number | null {
  const value = parseNumber(text);
  return value !== null && Number.isSafeInteger(value) ? value : null;
}

/**
 * The label `text` starts with, after leading white space and ignoring case; the longest label
 * that matches wins ("very good" over "very"), and what follows a label must not continue a
 * word ("positively" is not "positive"). Returns the label as the set spells it.
 */
export function parseLabel(text: string, labels: readonly string[]): string | null {
  const head = text.trimStart().toLowerCase();
  let best: string | null = null;
  for (const label of labels) {
    const lower = label.toLowerCase();
    if (lower.length === 0 || !head.startsWith(lower)) continue;
    const next = head.charAt(lower.length);
    if (/[\p{L}\p{N}_]/u.test(next) && /[\p{L}\p{N}_]$/u.test(lower)) continue;
    if (best === null || label.length > best.length) best = label;
  }
  return best;
}

export function parse(parser: Parser, text: string): Answer | null {
  switch (parser.kind) {
    case "number":
      return parseNumber(text);
    case "integer":
      return parseInteger(text);
    case "labels":
      return parseLabel(text, parser.labels);
  }
}

/** The text a numeric decision is answered with: shortest round-trip form, no binary noise (3.4, not 3.4000000000000004). */
export function formatNumber(value: number): string {
  if (Object.is(value, -0)) return "0";
  return String(Number(value.toPrecision(12)));
}
