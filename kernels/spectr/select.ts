/** Sequence-level SpecTr selection for one block (see index.ts for the algorithm and choices). */
import { checkNormalised, planKseq, selectWithPlan, type Chance, type SparseDistribution } from "../kseq/index.ts";
import { checkSurvivorsAgree } from "./consistency.ts";
import { argmaxToken } from "./greedy.ts";
import type { DistributionGrid, PositionOutcome, SelectBlockOptions, SpectrBlock, SpectrBlockResult } from "./types.ts";

const DEFAULT_SURVIVOR_TOLERANCE = 1e-6;

function reader(grid: DistributionGrid, name: string): (draft: number, position: number) => SparseDistribution {
  if (typeof grid === "function") return grid;
  return (draft, position) => {
    const d = grid[draft]?.[position];
    if (d === undefined) throw new RangeError(`${name}[${draft}][${position}] is missing`);
    return d;
  };
}

/**
 * Runs the selection of one SpecTr block: emits 1..L+1 tokens distributed exactly as the
 * target's continuation of the context, given K drafts of length L sampled i.i.d. from the
 * draft model (or, at temperature 0, greedy drafts). `chance` supplies every random decision
 * (uniformChance(random) to serve; an enumerating Chance to test).
 */
export function selectBlock(block: SpectrBlock, chance: Chance, options: SelectBlockOptions = {}): SpectrBlockResult {
  const { drafts } = block;
  const k = drafts.length;
  if (k < 1) throw new RangeError("a block needs at least one draft (plain decoding: one empty draft)");
  const l = drafts[0]!.length;
  for (const draft of drafts) if (draft.length !== l) throw new RangeError(`drafts differ in length (${draft.length} vs ${l})`);
  const greedy = options.temperatureZero === true;
  const tolerance = options.survivorTolerance ?? DEFAULT_SURVIVOR_TOLERANCE;
  const planner = options.planner ?? ((p, q, n) => planKseq(p, q, n));
  const targetAt = reader(block.p, "p");
  const draftAt = greedy || l === 0 ? undefined : reader(block.q ?? missingQ(), "q");

  let survivors = Array.from({ length: k }, (_, i) => i);
  const tokens: number[] = [];
  const positions: PositionOutcome[] = [];
  for (let t = 0; t < l; t++) {
    const lead = survivors[0]!;
    const p = targetAt(lead, t);
    checkSurvivorsAgree("p", t, survivors, p, targetAt, tolerance);
    let token: number;
    let acceptedDraft = -1;
    let acceptance: number;
    if (draftAt === undefined) {
      token = argmaxToken(p);
      acceptedDraft = survivors.find((i) => drafts[i]![t] === token) ?? -1;
      acceptance = acceptedDraft >= 0 ? 1 : 0;
    } else {
      const q = draftAt(lead, t);
      checkSurvivorsAgree("q", t, survivors, q, draftAt, tolerance);
      const plan = planner(p, q, survivors.length, t);
      const selection = selectWithPlan(
        plan,
        survivors.map((i) => drafts[i]![t]!),
        chance,
      );
      token = selection.token;
      if (selection.acceptedIndex >= 0) acceptedDraft = survivors[selection.acceptedIndex]!;
      acceptance = plan.acceptance;
    }
    // Every draft holding y_t survives, accepted or not (its next token is still a fresh draw
    // from q(. | c, y_1..y_t)), and only those: the rest no longer share the prefix.
    const next = token === options.stopToken ? [] : survivors.filter((i) => drafts[i]![t] === token);
    tokens.push(token);
    positions.push({ survivorsBefore: survivors.length, survivorsAfter: next.length, acceptedDraft, acceptance });
    if (next.length === 0) return result(tokens, survivors, positions, false);
    survivors = next;
  }
  const p = targetAt(survivors[0]!, l);
  checkSurvivorsAgree("p", l, survivors, p, targetAt, tolerance);
  if (greedy) tokens.push(argmaxToken(p));
  else {
    checkNormalised(p, `p at the bonus position ${l}`);
    tokens.push(chance.categorical(p));
  }
  return result(tokens, survivors, positions, true);
}

function missingQ(): never {
  throw new RangeError("q (the draft distributions) is required unless temperatureZero is set or L = 0");
}

function result(tokens: number[], survivors: number[], positions: PositionOutcome[], bonus: boolean): SpectrBlockResult {
  return {
    tokens,
    draftTokens: tokens.length - 1,
    survivors,
    accepted: positions.map((position) => position.acceptedDraft >= 0),
    positions,
    bonus,
  };
}
