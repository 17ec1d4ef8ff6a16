/**
 * `npm run bench:spec`: SpecTr decoding against plain decoding on the demo models, through the
 * gateway's generateChoice loop (models/target.gguf verified by models/draft.gguf, threads 1,
 * one context per core as the gateway sets itself up). 20 prompts from the held-out
 * validation text, 48 tokens each (EOS ignored so every run emits as many tokens),
 * temperature 1 and 0, one stream and 4 concurrent streams. Rows: plain
 * (src/engine/decoding/plain.ts), K = 1 (standard speculative sampling) at L = 2, 4, 8,
 * K = 2, 4, 8 at L = 4 and 8, auto (what the gateway does for a request without a
 * `speculation` field: Speculation.choose, the tuner's measured costs and online acceptance),
 * and, with LLAMA_SERVER set to a llama-server binary, llama.cpp's own server plain and with
 * the draft (L = 4) on the same prompt tokens, single stream. Columns: block efficiency
 * (emitted tokens per serial target call), median tokens/s per request, ratio to plain,
 * aggregate tokens/s. The last line is one JSON object (temperature 1, one stream; k1 and k4
 * at the same L = 4).
 */
import { availableParallelism } from "node:os";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { loadCorpus } from "../kernels/corpus.ts";
import { plainDecoding } from "../src/engine/decoding/plain.ts";
import { fixedSpeculation, SpectrDecoding, type SpeculationPolicy } from "../src/engine/decoding/spectr.ts";
import { leaseSpectrSequences } from "../src/engine/decoding/spectr-sequences.ts";
import type { DecodingStrategy } from "../src/engine/decoding/strategy.ts";
import { generateChoice } from "../src/engine/generate.ts";
import { greedy, type SamplingParams } from "../src/engine/sampling/params.ts";
import { ServedModel } from "../src/engine/served-model.ts";
import { Speculation } from "../src/engine/speculation.ts";
import { measureLlamaServer } from "./llama-server-peer.ts";

const PROMPTS = Number(process.argv[2] ?? 20); // a smaller count for a smoke run
/** A llama-server binary for the peer rows (built by hand, see README); unset: no peer rows. */
const LLAMA_SERVER = process.env.LLAMA_SERVER;
const PEER_L = 4;
const MAX_TOKENS = 48;
const STREAMS = [1, 4];
const MAX_K = 8;
const MAX_L = 8;
const CONTEXT = 256;

type Config = { name: string; k: number; l: number } | { name: "plain" } | { name: "auto" };
const CONFIGS: Config[] = [
  { name: "plain" },
  ...[2, 4, 8].map((l) => ({ name: `K=1 L=${l}`, k: 1, l })),
  ...[2, 4, 8].flatMap((k) => [4, 8].map((l) => ({ name: `K=${k} L=${l}`, k, l }))),
  { name: "auto" },
];

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
const sequences = Math.max(...STREAMS) * MAX_K;
// As the gateway sets itself up by default: one context per core, each with one thread.
const contexts = availableParallelism();
const target = await ServedModel.load(llama, { id: "target", path: "models/target.gguf", threads: 1, contextSize: CONTEXT, sequences, contexts, batchSize: 1024 });
const draftModel = await llama.loadModel({ modelPath: "models/draft.gguf" });

const lines = loadCorpus().validation.flatMap((d) => d.text.split("\n")).filter((line) => line.length > 200);
const step = Math.floor(lines.length / PROMPTS);
const prompts = Array.from({ length: PROMPTS }, (_, i) => target.tokenize(lines[i * step]!.slice(0, 160).replace(/\s+\S*$/, "")));

const started = performance.now();
const speculation = await Speculation.create(target, draftModel, { maxK: MAX_K, maxL: MAX_L, threads: 1, batchSize: 1024 });
const { tuner, profile, draftPool } = speculation;
const fmt = (points: ReadonlyArray<readonly [number, number]>): string => points.map(([n, ms]) => `${n}:${ms.toFixed(2)}`).join(" ");
console.log(`cost profile (ms): target by batch ${fmt(profile.target)}; draft by K ${fmt(profile.draft)}; one distribution ${profile.distributionMs.toFixed(2)}`);
for (const temperatureZero of [false, true]) {
  const { choice, plain } = tuner.plan(temperatureZero);
  console.log(`tuner prior plan (${temperatureZero ? "T=0" : "T=1"}): K=${choice.k} L=${choice.l}, predicted ${choice.tokensPerSecond.toFixed(0)} tok/s vs plain ${plain.tokensPerSecond.toFixed(0)}`);
}

interface Run {
  tps: number;
  tokens: number;
  targetCalls: number;
}

/** Auto leases what the gateway would (speculation.choose: the tuner's current K for one choice). */
async function runOne(config: Config, prompt: number[], sampling: SamplingParams, seed: number): Promise<Run> {
  const auto = config.name === "auto" ? speculation.choose("auto", { temperatureZero: sampling.temperature === 0, seeded: false, concurrentChoices: 1, poolSize: target.pool.size }) : undefined;
  const k = auto?.k ?? ("k" in config ? config.k : 1);
  const policy: SpeculationPolicy | undefined = auto?.policy ?? ("k" in config ? fixedSpeculation(config.k, config.l) : undefined);
  const lease = policy === undefined ? undefined : leaseSpectrSequences(target.pool, draftPool, k);
  const plainSequence = lease === undefined ? target.pool.take(1) : [];
  const sequence = lease?.targets[0] ?? plainSequence[0]!;
  const strategy: DecodingStrategy =
    lease === undefined
      ? plainDecoding
      : new SpectrDecoding({ targets: lease.targets, drafts: lease.drafts, policy: policy!, vocabularySize: target.vocabularySize });
  const start = performance.now();
  let tokens = 0;
  try {
    for await (const delta of generateChoice(target, sequence, strategy, {
      prompt,
      evaluated: 0,
      maxTokens: MAX_TOKENS,
      sampling,
      seed,
      stop: [],
      stopTokenIds: new Set(),
      ignoreEos: true,
      logprobs: null,
      signal: new AbortController().signal,
    })) tokens += delta.tokens.length;
  } finally {
    await (lease?.release() ?? target.pool.give(plainSequence));
  }
  const ms = performance.now() - start;
  return { tps: (tokens * 1000) / ms, tokens, targetCalls: strategy instanceof SpectrDecoding ? strategy.figures.targetCalls : tokens };
}

interface Row {
  temperature: number;
  streams: number;
  config: string;
  blockEfficiency: number;
  medianTps: number;
  aggregateTps: number;
}

async function runConfig(config: Config, temperature: number, streams: number): Promise<Row> {
  const sampling: SamplingParams = { ...greedy, temperature };
  const runs: Run[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: streams }, async () => {
    while (next < prompts.length) {
      const i = next++;
      runs.push(await runOne(config, prompts[i]!, sampling, 1000 + i));
    }
  }));
  const wall = performance.now() - start;
  const tokens = runs.reduce((sum, run) => sum + run.tokens, 0);
  return {
    temperature,
    streams,
    config: config.name,
    blockEfficiency: tokens / runs.reduce((sum, run) => sum + run.targetCalls, 0),
    medianTps: median(runs.map((run) => run.tps)),
    aggregateTps: (tokens * 1000) / wall,
  };
}

// Warm-up: every code path once.
await runOne({ name: "plain" }, prompts[0]!, { ...greedy, temperature: 1 }, 1);
await runOne({ name: "K=4 L=4", k: 4, l: 4 }, prompts[0]!, { ...greedy, temperature: 1 }, 1);

const rows: Row[] = [];
for (const temperature of [1, 0]) {
  for (const streams of STREAMS) {
    console.log(`\nT=${temperature}, ${streams} stream${streams > 1 ? "s" : ""}: ${PROMPTS} prompts x ${MAX_TOKENS} tokens`);
    console.log("config        block_eff  median_tps  ratio  aggregate_tps");
    let plainTps = NaN;
    for (const config of CONFIGS) {
      const row = await runConfig(config, temperature, streams);
      if (config.name === "plain") plainTps = row.medianTps;
      rows.push(row);
      const extra = config.name === "auto" ? `  (now K=${tuner.plan(temperature === 0).choice.k} L=${tuner.plan(temperature === 0).choice.l})` : "";
      console.log(
        `${config.name.padEnd(12)}  ${row.blockEfficiency.toFixed(2).padStart(9)}  ${row.medianTps.toFixed(1).padStart(10)}  ${(row.medianTps / plainTps).toFixed(2).padStart(5)}  ${row.aggregateTps.toFixed(1).padStart(13)}${extra}`,
      );
    }
    if (LLAMA_SERVER !== undefined && streams === 1) {
      for (const draft of [null, "models/draft.gguf"]) {
        const peer = await measureLlamaServer({ binary: LLAMA_SERVER, target: "models/target.gguf", draft, prompts, maxTokens: MAX_TOKENS, temperature, draftMax: PEER_L, threads: 1, contextSize: CONTEXT });
        const config = draft === null ? "llama-server plain" : `llama-server draft L=${PEER_L}`;
        rows.push({ temperature, streams, config, blockEfficiency: peer.blockEfficiency, medianTps: peer.tokensPerSecond, aggregateTps: NaN });
        const acceptance = peer.acceptance === undefined ? "" : `  (acceptance ${peer.acceptance.toFixed(3)})`;
        console.log(`${config.padEnd(22)}  ${peer.blockEfficiency.toFixed(2).padStart(9)}  ${peer.tokensPerSecond.toFixed(1).padStart(10)}  ${(peer.tokensPerSecond / plainTps).toFixed(2).padStart(5)}${acceptance}`);
      }
    }
    const k1 = rows.filter((r) => r.temperature === temperature && r.streams === streams && r.config.startsWith("K=1 "));
    const best = k1.reduce((a, b) => (b.medianTps > a.medianTps ? b : a));
    console.log(`K = 1 best L: ${best.config} (${best.medianTps.toFixed(1)} tok/s)`);
  }
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);

const pick = (config: string): Row => rows.find((r) => r.temperature === 1 && r.streams === 1 && r.config === config)!;
console.log(
  JSON.stringify({
    plain_tps: pick("plain").medianTps,
    k1_tps: pick("K=1 L=4").medianTps,
    spectr_tps: pick("K=4 L=4").medianTps,
    auto_tps: pick("auto").medianTps,
    block_eff_k1: pick("K=1 L=4").blockEfficiency,
    block_eff_k4: pick("K=4 L=4").blockEfficiency,
    ...(LLAMA_SERVER === undefined ? {} : { llama_server_plain_tps: pick("llama-server plain").medianTps, llama_server_spec_tps: pick(`llama-server draft L=${PEER_L}`).medianTps }),
  }),
);
await speculation.dispose();
await draftModel.dispose();
await target.dispose();
await llama.dispose();
