/**
 * `npm run bench:metric-aware`: does the metric-aware decision beat plain decoding on its metric,
 * and what does it cost? A real scoring task with a held-out split (bench/metric-aware-tasks.ts,
 * BENCH_TASK): `sotu-year` (default), the year of a State of the Union address from an excerpt,
 * or `afinn`, AFINN-111 word valence. The bench fine-tunes a LoRA adapter for the task with
 * kernels/finetune on its training split (serving's own tokenization, reply " <answer>"), or
 * reuses the one it cached, loads it into an in-process gateway and asks, for each held-out item:
 *
 *  - greedy: temperature 0 (plain decoding's answer);
 *  - sampled: one sample at temperature 1;
 *  - Monte Carlo, N = 8, 16, 32: metric_aware squared_error (the choice is the mean; the median
 *    and the mode for MAE and exact match come from the same evidence through kernels/metric);
 *  - grid: metric_aware with the task's candidates (every answer it may have), likewise.
 *
 * MSE, MAE and exact match on the held-out items, paired bootstrap 95% intervals for greedy's
 * MSE and MAE minus metric-aware's (resampling items, and where items share a group, such as
 * excerpts of one address, resampling groups), tokens evaluated (usage) and wall time per request
 * relative to greedy. A plain answer that names none scores as the task's fallback (afinn: 0,
 * neutral; sotu-year: the training mean year). Requests run one at a time.
 *
 * BENCH_TASK (sotu-year), BENCH_HELD_OUT (200, held-out items scored), BENCH_TRAIN_STEPS
 * (sotu-year 100 batches of 4, afinn 150 of 8), BENCH_TRAIN (sotu-year: 800 training excerpts),
 * BENCH_SEQUENCES (32), BENCH_CACHE (os tmpdir/metric-aware-bench), BENCH_RETRAIN=1 to ignore
 * the cached adapter.
 */
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { empirical, normalize, type Belief } from "../kernels/metric/distribution.ts";
import { mean, median, mode } from "../kernels/metric/rules.ts";
import { encodeExample } from "../kernels/finetune/encode.ts";
import { finetune } from "../kernels/finetune/trainer.ts";
import { writeLoraAdapter } from "../kernels/lora/write.ts";
import { createRandom } from "../kernels/random.ts";
import { initBackend } from "../kernels/tfjs/backend.ts";
import { readLlamaModel } from "../kernels/transformer/gguf-model.ts";
import { loadConfig } from "../src/config/config.ts";
import { trainingFormatter } from "../src/engine/training-formatter.ts";
import { createLogger } from "../src/logging/logger.ts";
import type { MetricAwareEvidence } from "../src/protocol/metric-aware.ts";
import { startServer } from "../src/server.ts";
import { benchTask, type ScoringTask } from "./metric-aware-tasks.ts";
import { median as medianOf } from "./stats.ts";

const task = benchTask(process.env);
const sequences = Number(process.env.BENCH_SEQUENCES ?? 32);
const cache = process.env.BENCH_CACHE ?? join(tmpdir(), "metric-aware-bench");
const target = "models/target.gguf";

interface Answer {
  /** Per metric: the answer scored for MSE, MAE and exact match. */
  forMse: number;
  forMae: number;
  forExact: number;
  tokens: number;
  ms: number;
  unparsable: number;
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

async function main(): Promise<void> {
  mkdirSync(cache, { recursive: true });
  const config = loadConfig({ HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "error", SPECULATION: "off", SEQUENCES: String(sequences), ADAPTERS_DIR: cache });
  const server = await startServer(config, createLogger("error"));
  await server.loaded;
  try {
    const adapterFile = join(cache, task.adapterFile);
    if (process.env.BENCH_RETRAIN === "1" || !existsSync(adapterFile)) await train(server.gateway.engine!.get("target")!, adapterFile);
    else console.log(`using the cached adapter ${adapterFile}`);
    await post(`${server.url}/v1/load_lora_adapter`, { lora_name: task.name, lora_path: task.adapterFile });
    await evaluate(server.url);
  } finally {
    await server.shutdown(5_000);
  }
}

async function train(served: Parameters<typeof trainingFormatter>[0], path: string): Promise<void> {
  await initBackend();
  const formatter = trainingFormatter(served);
  const examples = task.train.flatMap(({ prompt, truth }) => encodeExample({ kind: "completion", prompt, completion: ` ${truth}` }, formatter));
  const base = readLlamaModel(target);
  const started = performance.now();
  const { steps, learningRate, batchSize, seed, targets } = task.training;
  const result = await finetune(base.config, base.weights, examples, undefined, {
    lora: { rank: 8, alpha: 16, targets },
    dropout: 0,
    optimizer: "adam",
    learningRate,
    epochs: 100,
    batchSize,
    seed,
    validationFraction: 0.05,
    evalEvery: 50,
    patience: 0,
    maxSteps: steps,
  }, task.name, {
    onProgress: (progress) => {
      if (progress.step % 10 === 0 || progress.validationLoss !== undefined) {
        console.log(`step ${progress.step}/${progress.totalSteps} train loss ${progress.trainLoss.toFixed(3)}${progress.validationLoss === undefined ? "" : ` validation ${progress.validationLoss.toFixed(3)}`} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      }
    },
  });
  writeLoraAdapter(path, result.adapter);
  console.log(`trained ${result.steps} steps in ${result.seconds.toFixed(0)} s; validation loss ${result.baseValidationLoss?.toFixed(3)} -> ${result.bestValidationLoss?.toFixed(3)} (adapter of step ${result.adapterStep})`);
}

type Method = { name: string; run: (prompt: string, seed: number) => Promise<Answer> };

async function evaluate(url: string): Promise<void> {
  const completion = async (body: Record<string, unknown>): Promise<{ json: Record<string, unknown>; ms: number }> => {
    const start = performance.now();
    const json = await post(`${url}/v1/completions`, { model: task.name, stop: ["\n"], max_tokens: task.maxTokens, ...body });
    return { json, ms: performance.now() - start };
  };
  const tokensOf = (json: Record<string, unknown>): number => {
    const usage = json.usage as { prompt_tokens: number; completion_tokens: number };
    return usage.prompt_tokens + usage.completion_tokens;
  };
  const plain = (temperature: number) => async (prompt: string, seed: number): Promise<Answer> => {
    const { json, ms } = await completion({ prompt, temperature, seed });
    const value = task.read((json.choices as { text: string }[])[0]!.text);
    const answer = value ?? task.fallback;
    return { forMse: answer, forMae: answer, forExact: answer, tokens: tokensOf(json), ms, unparsable: value === null ? 1 : 0 };
  };
  /** `estimator`: the metric_aware fields that pick it; `fields`: the request's own; `answer`: the task's answer for a value. */
  const metricAware = (estimator: Record<string, unknown>, fields: Record<string, unknown>, answer: (value: number) => number = (value) => value) => async (prompt: string, seed: number): Promise<Answer> => {
    const { json, ms } = await completion({ prompt, seed, ...fields, metric_aware: { metric: "squared_error", parse: "integer", ...estimator } });
    const choice = (json.choices as { text: string; metric_aware: MetricAwareEvidence }[])[0]!;
    const evidence = choice.metric_aware;
    if (evidence.values.length === 0) {
      const fallback = task.read(choice.text) ?? task.fallback;
      return { forMse: fallback, forMae: fallback, forExact: fallback, tokens: tokensOf(json), ms, unparsable: evidence.unparsable };
    }
    const belief: Belief<number> = normalize(evidence.values.map(({ value, probability }) => ({ value: value as number, weight: probability })));
    const decided = Number(choice.text);
    if (Math.abs(decided - mean(belief)) > 1e-9 * (1 + Math.abs(decided))) throw new Error(`the choice ${choice.text} is not the evidence's mean ${mean(belief)}`);
    return { forMse: answer(decided), forMae: answer(median(belief)), forExact: answer(mode(belief)), tokens: tokensOf(json), ms, unparsable: evidence.unparsable };
  };
  const methods: Method[] = [
    { name: "greedy", run: plain(0) },
    { name: "sampled (T = 1)", run: plain(1) },
    ...[8, 16, 32].map((samples) => ({ name: `Monte Carlo N = ${samples}`, run: metricAware({ samples }, task.monteCarlo) })),
    ...task.grids.map(({ label, candidates, answer }) => ({ name: label, run: metricAware({ candidates }, {}, answer) })),
  ];
  const scored = task.heldOut;
  // Warm-up, unmeasured: the first request of each shape pays one-time costs.
  for (const method of methods) await method.run(scored[0]!.prompt, 1);
  const answers = new Map<string, Answer[]>(methods.map(({ name }) => [name, []]));
  // Methods interleave item by item, so the machine's load drifts over all of them alike.
  for (const [i, { prompt }] of scored.entries()) for (const method of methods) answers.get(method.name)!.push(await method.run(prompt, i + 1));
  report(methods.map(({ name }) => name), answers, scored);
}

function report(names: string[], answers: Map<string, Answer[]>, scored: ScoringTask["heldOut"]): void {
  const truth = scored.map(({ truth: t }) => t);
  const greedy = answers.get("greedy")!;
  const greedyMs = medianOf(greedy.map(({ ms }) => ms));
  const greedyTokens = greedy.reduce((sum, { tokens }) => sum + tokens, 0) / greedy.length;
  const prior = empirical(task.train.map(({ truth: t }) => t));
  console.log(`\n${task.description}: ${truth.length} held-out items`);
  console.log(`prior: always answering the training split's mean gives MSE ${mse(truth.map(() => mean(prior)), truth).toFixed(3)}, its median (${median(prior)}) MAE ${mae(truth.map(() => median(prior)), truth).toFixed(3)}\n`);
  console.log("| method | MSE | MAE | exact match | unparsable | tokens evaluated / request | wall time / greedy (median) |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const name of names) {
    const rows = answers.get(name)!;
    const tokens = rows.reduce((sum, { tokens: t }) => sum + t, 0) / rows.length;
    const ms = medianOf(rows.map(({ ms: m }) => m));
    const exact = rows.filter(({ forExact }, i) => forExact === truth[i]).length / rows.length;
    const unparsable = rows.reduce((sum, { unparsable: u }) => sum + u, 0);
    console.log(`| ${name} | ${mse(rows.map(({ forMse }) => forMse), truth).toFixed(3)} | ${mae(rows.map(({ forMae }) => forMae), truth).toFixed(3)} | ${exact.toFixed(3)} | ${unparsable} | ${tokens.toFixed(1)} (${(tokens / greedyTokens).toFixed(2)}x) | ${ms.toFixed(1)} ms (${(ms / greedyMs).toFixed(2)}x) |`);
  }
  const groups = scored.map(({ group }) => group);
  const grouped = new Set(groups).size < groups.length;
  console.log(`\nPaired bootstrap (2,000 resamples), greedy minus metric-aware, 95% interval (positive: metric-aware better), resampling items${grouped ? ` and, in brackets after, resampling the ${new Set(groups).size} groups (${[...new Set(groups)].join(", ")})` : ""}:\n`);
  console.log("| method | MSE difference | MAE difference |");
  console.log("|---|---|---|");
  for (const name of names.filter((name) => name !== "greedy" && !name.startsWith("sampled"))) {
    const rows = answers.get(name)!;
    const mseGain = truth.map((t, i) => (greedy[i]!.forMse - t) ** 2 - (rows[i]!.forMse - t) ** 2);
    const maeGain = truth.map((t, i) => Math.abs(greedy[i]!.forMae - t) - Math.abs(rows[i]!.forMae - t));
    const both = (gain: number[]): string => `${interval(gain, groups.map((_, i) => String(i)))}${grouped ? ` ${interval(gain, groups).replace(/^\S+ /, "")}` : ""}`;
    console.log(`| ${name} | ${both(mseGain)} | ${both(maeGain)} |`);
  }
}

function mse(answers: number[], truth: number[]): number {
  return answers.reduce((sum, answer, i) => sum + (answer - truth[i]!) ** 2, 0) / answers.length;
}

function mae(answers: number[], truth: number[]): number {
  return answers.reduce((sum, answer, i) => sum + Math.abs(answer - truth[i]!), 0) / answers.length;
}

/**
 * Mean of per-item differences with a percentile bootstrap 95% interval, resampling the groups
 * (all items of a drawn group at once): items of one group are not independent draws.
 */
function interval(differences: number[], groups: string[]): string {
  const byGroup = new Map<string, number[]>();
  differences.forEach((difference, i) => byGroup.set(groups[i]!, [...(byGroup.get(groups[i]!) ?? []), difference]));
  const members = [...byGroup.values()];
  const random = createRandom(2024);
  const means: number[] = [];
  for (let b = 0; b < 2000; b++) {
    let sum = 0;
    let count = 0;
    for (let g = 0; g < members.length; g++) {
      const drawn = members[random.int(members.length)]!;
      for (const difference of drawn) sum += difference;
      count += drawn.length;
    }
    means.push(sum / count);
  }
  means.sort((a, b) => a - b);
  const point = differences.reduce((a, b) => a + b, 0) / differences.length;
  return `${point.toFixed(3)} [${means[49]!.toFixed(3)}, ${means[1949]!.toFixed(3)}]`;
}

await main();
