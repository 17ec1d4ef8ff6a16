/** Survivors share their prefix, so the distributions the selection reads from them must agree. */
import type { SparseDistribution } from "../kseq/index.ts";

/** max_x |a(x) - b(x)| over both supports (a merge of the sorted token arrays). */
export function maxAbsDifference(a: SparseDistribution, b: SparseDistribution): number {
  if (a === b) return 0;
  let worst = 0;
  let i = 0;
  let j = 0;
  while (i < a.tokens.length || j < b.tokens.length) {
    const ta = i < a.tokens.length ? a.tokens[i]! : Infinity;
    const tb = j < b.tokens.length ? b.tokens[j]! : Infinity;
    let difference: number;
    if (ta === tb) difference = Math.abs(a.probs[i++]! - b.probs[j++]!);
    else if (ta < tb) difference = a.probs[i++]!;
    else difference = b.probs[j++]!;
    if (!(difference <= worst)) worst = difference; // NaN propagates as a mismatch
  }
  return worst;
}

export class SurvivorMismatchError extends RangeError {
  constructor(
    readonly which: "p" | "q",
    readonly position: number,
    readonly lead: number,
    readonly other: number,
    readonly difference: number,
  ) {
    super(
      `${which} of draft ${other} at position ${position} differs from draft ${lead}'s by ${difference}, ` +
        `though both drafts share the accepted prefix: the distributions are wired to the wrong drafts`,
    );
    this.name = "SurvivorMismatchError";
  }
}

/** Throws SurvivorMismatchError unless every survivor's distribution is within tolerance of the lead's. */
export function checkSurvivorsAgree(
  which: "p" | "q",
  position: number,
  survivors: readonly number[],
  lead: SparseDistribution,
  read: (draft: number, position: number) => SparseDistribution,
  tolerance: number,
): void {
  if (tolerance === Infinity) return;
  for (let s = 1; s < survivors.length; s++) {
    const other = survivors[s]!;
    const difference = maxAbsDifference(lead, read(other, position));
    if (!(difference <= tolerance)) throw new SurvivorMismatchError(which, position, survivors[0]!, other, difference);
  }
}
