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
 *
 * Two regimes, in one run (BENCH_REGIMES=committed,memory-bound selects): the demo pair as
 * committed, whose 34 MB target sits in this CPU's 32 MB L3 cache and is compute-bound (5 tokens
 * in one call cost ~4x one), and a memory-bound target made here from it: 40 extra layers with
 * zero output projections (attn_output, ffn_down), function-preserving (same outputs, so the
 * same acceptance), every matrix F32, about 7x the L3 in weight bytes, as real targets are
 * memory-bound on every machine. The memory-bound regime runs one stream and fewer rows.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { loadCorpus } from "../kernels/corpus.ts";
import { TensorType } from "../kernels/gguf/types.ts";
import { initBackend } from "../kernels/tfjs/backend.ts";
import { readLlamaModel, writeLlamaModel } from "../kernels/transformer/gguf-model.ts";
import { growModel } from "../kernels/transformer/grow.ts";
import { disposeWeights } from "../kernels/transformer/weights.ts";
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
/** The memory-bound regime's rows: K = 1 and K = 4 at equal L, and auto. */
const MEMORY_BOUND_CONFIGS: Config[] = [
  { name: "plain" },
  ...[2, 4].flatMap((l) => [1, 4].map((k) => ({ name: `K=${k} L=${l}`, k, l }))),
  { name: "auto" },
];
const EXTRA_LAYERS = 40;
const REGIMES = (process.env.BENCH_REGIMES ?? "committed,memory-bound").split(",");

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
const draftModel = await llama.loadModel({ modelPath: "models/draft.gguf" });
const started = performance.now();
const fmt = (points: ReadonlyArray<readonly [number, number]>): string => points.map(([n, ms]) => `${n}:${ms.toFixed(2)}`).join(" ");

interface Run {
  tps: number;
  tokens: number;
  targetCalls: number;
}

interface Row {
  regime: string;
  temperature: number;
  streams: number;
  config: string;
  blockEfficiency: number;
  medianTps: number;
  aggregateTps: number;
}

const rows: Row[] = [];

/** The committed target deepened function-preservingly (see the header), written to a temporary file. */
async function memoryBoundTarget(directory: string): Promise<string> {
  await initBackend();
  const base = readLlamaModel("models/target.gguf");
  const grown = growModel(base.config, base.weights, { layers: base.config.layers + EXTRA_LAYERS, ffnDim: base.config.ffnDim }, 20261201);
  const path = join(directory, "target-memory-bound.gguf");
  const tokenizer = {
    tokens: (base.file.metadata.get("tokenizer.ggml.tokens") as string[]),
    tokenTypes: (base.file.metadata.get("tokenizer.ggml.token_type") as number[]),
    merges: (base.file.metadata.get("tokenizer.ggml.merges") as string[]),
    eosId: Number(base.file.metadata.get("tokenizer.ggml.eos_token_id")),
    bosId: Number(base.file.metadata.get("tokenizer.ggml.bos_token_id")),
  };
  writeLlamaModel(path, grown.config, grown.weights, tokenizer, { name: "spectr-demo-target-memory-bound", matrixType: TensorType.F32 });
  disposeWeights(base.weights);
  disposeWeights(grown.weights);
  return path;
}

async function runRegime(regime: string, targetPath: string, configs: Config[], streamsList: number[]): Promise<void> {
  const sequences = Math.max(...streamsList) * MAX_K;
  // As the gateway sets itself up by default: one context per core, each with one thread.
  const contexts = availableParallelism();
  const target = await ServedModel.load(llama, { id: "target", path: targetPath, threads: 1, contextSize: CONTEXT, sequences, contexts, batchSize: 1024 });
  const lines = loadCorpus().validation.flatMap((d) => d.text.split("\n")).filter((line) => line.length > 200);
  const step = Math.floor(lines.length / PROMPTS);
  const prompts = Array.from({ length: PROMPTS }, (_, i) => target.tokenize(lines[i * step]!.slice(0, 160).replace(/\s+\S*$/, "")));
  const speculation = await Speculation.create(target, draftModel, { maxK: MAX_K, maxL: MAX_L, threads: 1, batchSize: 1024 });
  const { tuner, profile, draftPool } = speculation;
  console.log(`\n== ${regime}: ${targetPath} (${(statSync(targetPath).size / 2 ** 20).toFixed(0)} MiB)`);
  console.log(`cost profile (ms): target by batch ${fmt(profile.target)}; draft by K ${fmt(profile.draft)}; one distribution ${profile.distributionMs.toFixed(2)}`);
  for (const temperatureZero of [false, true]) {
    const { choice, plain } = tuner.plan(temperatureZero);
    console.log(`tuner prior plan (${temperatureZero ? "T=0" : "T=1"}): K=${choice.k} L=${choice.l}, predicted ${choice.tokensPerSecond.toFixed(0)} tok/s vs plain ${plain.tokensPerSecond.toFixed(0)}`);
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
      regime,
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

  for (const temperature of [1, 0]) {
    for (const streams of streamsList) {
      console.log(`\n${regime}, T=${temperature}, ${streams} stream${streams > 1 ? "s" : ""}: ${PROMPTS} prompts x ${MAX_TOKENS} tokens`);
      console.log("config        block_eff  median_tps  ratio  aggregate_tps");
      let plainTps = NaN;
      for (const config of configs) {
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
          const peer = await measureLlamaServer({ binary: LLAMA_SERVER, target: targetPath, draft, prompts, maxTokens: MAX_TOKENS, temperature, draftMax: PEER_L, threads: 1, contextSize: CONTEXT });
          const config = draft === null ? "llama-server plain" : `llama-server draft L=${PEER_L}`;
          rows.push({ regime, temperature, streams, config, blockEfficiency: peer.blockEfficiency, medianTps: peer.tokensPerSecond, aggregateTps: NaN });
          const acceptance = peer.acceptance === undefined ? "" : `  (acceptance ${peer.acceptance.toFixed(3)})`;
          console.log(`${config.padEnd(22)}  ${peer.blockEfficiency.toFixed(2).padStart(9)}  ${peer.tokensPerSecond.toFixed(1).padStart(10)}  ${(peer.tokensPerSecond / plainTps).toFixed(2).padStart(5)}${acceptance}`);
        }
      }
    }
  }
  await speculation.dispose();
  await target.dispose();
}

const scratch = mkdtempSync(join(tmpdir(), "bench-spec-"));
try {
  if (REGIMES.includes("committed")) await runRegime("committed", "models/target.gguf", CONFIGS, STREAMS);
  if (REGIMES.includes("memory-bound")) await runRegime("memory-bound", await memoryBoundTarget(scratch), MEMORY_BOUND_CONFIGS, [1]);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);

const pick = (regime: string, temperature: number, config: string): number | undefined => rows.find((r) => r.regime === regime && r.temperature === temperature && r.streams === 1 && r.config === config)?.medianTps;
const summary: Record<string, unknown> = {};
for (const regime of REGIMES) {
  for (const temperature of [1, 0]) {
    const plain = pick(regime, temperature, "plain")!;
    summary[`${regime}_T${temperature}`] = {
      plain_tps: plain,
      auto_over_plain: pick(regime, temperature, "auto")! / plain,
      k4_over_k1_at_l4: pick(regime, temperature, "K=4 L=4")! / pick(regime, temperature, "K=1 L=4")!,
      ...(LLAMA_SERVER === undefined ? {} : { auto_over_llama_server_draft: pick(regime, temperature, "auto")! / pick(regime, temperature, `llama-server draft L=${PEER_L}`)! }),
    };
  }
}
console.log(JSON.stringify(summary));
await draftModel.dispose();
await llama.dispose();
