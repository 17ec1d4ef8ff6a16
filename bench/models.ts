/**
 * `npm run bench:models`: what the demo models cost.
 *  - tfjs forward and training tokens/s for each available backend (each in its own
 *    process, since a process has one backend), on the target and the draft;
 *  - node-llama-cpp decode latency of target and draft at threads 1 and 2: one token
 *    per call (greedy, and with the full next-token distribution that speculative
 *    decoding reads) and a batch of 8 tokens per call.
 * Medians of repeated runs, target and draft timed in alternating rounds; ratios are taken
 * within this one run. `--shapes` times untrained candidate shapes instead (see shapes()).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { initBackend, tf, type BackendName } from "../kernels/tfjs/backend.ts";
import { crossEntropy, forward } from "../kernels/transformer/forward.ts";
import { readGgufFile } from "../kernels/gguf/reader.ts";
import { TensorType } from "../kernels/gguf/types.ts";
import type { TokenizerSpec } from "../kernels/tokenizer/gguf-tokenizer.ts";
import type { LlamaConfig } from "../kernels/transformer/config.ts";
import { configFromGguf, readLlamaModel, writeLlamaModel } from "../kernels/transformer/gguf-model.ts";
import { initWeights } from "../kernels/transformer/weights.ts";
import { toVariables } from "../kernels/transformer/train.ts";

const MODELS = { target: "models/target.gguf", draft: "models/draft.gguf" } as const;
type Role = keyof typeof MODELS;
const ROUNDS = 12;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function timeIt(repeats: number, run: () => void): number {
  run(); // warm-up: kernels compiled, memory allocated
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return median(times);
}

/** Runs in a child process with TFJS_BACKEND set: prints one JSON line. */
async function tfjsChild(): Promise<void> {
  const backend = await initBackend();
  const batch = 2;
  const length = 128;
  const repeats = backend === "cpu" ? 1 : 3;
  const rows: Record<string, unknown>[] = [];
  for (const role of Object.keys(MODELS) as Role[]) {
    const { config, weights } = readLlamaModel(MODELS[role]);
    const ids = Int32Array.from({ length: batch * length }, (_, i) => (i * 7919) % config.vocabSize);
    const tokens = tf.tensor2d(ids, [batch, length], "int32");
    const forwardMs = timeIt(repeats, () => tf.tidy(() => forward(config, weights, tokens).logits.dataSync()));
    const variables = toVariables(weights, `bench-${role}`);
    const optimizer = tf.train.adam(1e-4);
    const trainMs = timeIt(repeats, () => {
      const loss = optimizer.minimize(() => crossEntropy(forward(config, variables, tokens).logits, tokens), true);
      loss?.dataSync();
      loss?.dispose();
    });
    rows.push({ backend, role, forward_tps: (batch * length) / (forwardMs / 1000), train_tps: (batch * length) / (trainMs / 1000) });
  }
  console.log(JSON.stringify(rows));
}

function tfjsRows(): Record<string, number | string>[] {
  const rows: Record<string, number | string>[] = [];
  for (const backend of ["gpu", "wasm", "cpu"]) {
    const child = spawnSync(process.execPath, ["--import", "tsx", "bench/models.ts", "--tfjs-child"], {
      env: { ...process.env, TFJS_BACKEND: backend },
      encoding: "utf8",
      maxBuffer: 1 << 24,
    });
    const line = child.stdout.split("\n").find((l) => l.startsWith("["));
    if (child.status !== 0 || !line) {
      console.log(`tfjs backend ${backend}: not available here`);
      continue;
    }
    rows.push(...(JSON.parse(line) as Record<string, number | string>[]));
  }
  return rows;
}

type Latency = { greedy1: number; distribution1: number; batch8: number };

/** One context on a model, with the calls the table times; each call appends tokens. */
async function decodeProbe(model: LlamaModel, threads: number): Promise<{ round: () => Promise<Latency>; dispose: () => Promise<void> }> {
  const context = await model.createContext({ contextSize: 512, threads, sequences: 1 });
  const sequence = context.getSequence();
  const prompt = model.tokenize("Fellow-Citizens of the Senate and House of Representatives: the whale", false);
  await sequence.controlledEvaluate(prompt);
  let next = 0;
  const tokenAt = (): number => Number(prompt[next++ % prompt.length]);
  const timed = async (count: number, run: () => Promise<unknown>): Promise<number> => {
    await run();
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      await run();
      times.push(performance.now() - start);
    }
    return median(times);
  };
  // Stay well inside the context: clear what the calls appended before it fills.
  const keepRoom = async (needed: number): Promise<void> => {
    if (sequence.nextTokenIndex + needed > 480) {
      await sequence.eraseContextTokenRanges([{ start: prompt.length, end: sequence.nextTokenIndex }]);
    }
  };
  const round = async (): Promise<Latency> => ({
    greedy1: await timed(8, async () => {
      await keepRoom(1);
      await sequence.controlledEvaluate([[tokenAt(), { generateNext: { token: true, options: { temperature: 0 } } }]] as never);
    }),
    distribution1: await timed(8, async () => {
      await keepRoom(1);
      await sequence.controlledEvaluate([[tokenAt(), { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]] as never);
    }),
    batch8: await timed(3, async () => {
      await keepRoom(8);
      const items = Array.from({ length: 8 }, (_, j) => (j === 7 ? [tokenAt(), { generateNext: { token: true, options: { temperature: 0 } } }] : tokenAt()));
      await sequence.controlledEvaluate(items as never);
    }),
  });
  return { round, dispose: () => context.dispose() };
}

/**
 * The machine is shared and its speed drifts, so target and draft are timed in
 * alternating rounds (each a median of a few calls) and each figure is the median over rounds.
 */
async function decodeLatencies<K extends string>(models: Record<K, LlamaModel>, threads: number, rounds: number): Promise<Record<K, Latency>> {
  const roles = Object.keys(models) as K[];
  const probes = await Promise.all(roles.map((role) => decodeProbe(models[role], threads)));
  const samples = roles.map(() => [] as Latency[]);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...roles.keys()].reverse() : [...roles.keys()];
    for (const i of order) samples[i]!.push(await probes[i]!.round());
  }
  for (const probe of probes) await probe.dispose();
  const summary = (s: Latency[]): Latency => ({
    greedy1: median(s.map((x) => x.greedy1)),
    distribution1: median(s.map((x) => x.distribution1)),
    batch8: median(s.map((x) => x.batch8)),
  });
  return Object.fromEntries(roles.map((role, i) => [role, summary(samples[i]!)])) as Record<K, Latency>;
}

/**
 * `--shapes 2x768,3x512:16x1024,17x1024` (drafts:targets, each LAYERSxFFN; dim 256, 4 heads,
 * 2 KV heads, vocabulary 2048, F16): what candidate shapes would cost, before training
 * anything. Random-weight GGUFs with the tokenizer of models/target.gguf, all timed in
 * alternating rounds at threads 1, and each target's cost over each draft's (1 token per
 * call, greedy).
 */
async function shapes(drafts: string[], targets: string[]): Promise<void> {
  await initBackend();
  const file = readGgufFile(MODELS.target);
  const meta = <T>(key: string): T => file.metadata.get(key) as T;
  const tokenizer: TokenizerSpec = {
    tokens: meta("tokenizer.ggml.tokens"), tokenTypes: meta("tokenizer.ggml.token_type"), merges: meta("tokenizer.ggml.merges"),
    eosId: Number(meta("tokenizer.ggml.eos_token_id")), bosId: Number(meta("tokenizer.ggml.bos_token_id")),
  };
  const dir = mkdtempSync(join(tmpdir(), "bench-shapes-"));
  const llama = await getLlama({ gpu: false });
  const models: Record<string, LlamaModel> = {};
  for (const shape of [...drafts, ...targets]) {
    const [layers, ffnDim] = shape.split("x").map(Number);
    const config: LlamaConfig = { ...configFromGguf(file), layers: layers!, ffnDim: ffnDim! };
    const path = join(dir, `${shape}.gguf`);
    writeLlamaModel(path, config, initWeights(config, 1), tokenizer, { name: shape, matrixType: TensorType.F16 });
    console.log(`${shape}: ${statSync(path).size} bytes`);
    models[shape] = await llama.loadModel({ modelPath: path });
  }
  const latencies = await decodeLatencies(models, 1, 2 * ROUNDS);
  console.log(`\n| 1 token, greedy, threads 1 | ms | ${targets.map((t) => `${t} / this`).join(" | ")} |\n|---|---|${targets.map(() => "---|").join("")}`);
  for (const shape of [...drafts, ...targets]) {
    const ms = latencies[shape]!.greedy1;
    const cells = targets.map((t) => (drafts.includes(shape) ? (latencies[t]!.greedy1 / ms).toFixed(2) : ""));
    console.log(`| ${shape} | ${ms.toFixed(2)} | ${cells.join(" | ")} |`);
  }
  for (const model of Object.values(models)) await model.dispose();
  await llama.dispose();
  rmSync(dir, { recursive: true });
}

async function main(): Promise<void> {
  if (process.argv.includes("--tfjs-child")) return tfjsChild();
  const shapesAt = process.argv.indexOf("--shapes");
  if (shapesAt >= 0) {
    const [drafts, targets] = (process.argv[shapesAt + 1] ?? "").split(":").map((list) => list.split(","));
    return shapes(drafts!, targets ?? []);
  }
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, node ${process.version}`);
  const tfjs = tfjsRows();
  console.log("\n| tfjs backend | model | forward tokens/s | training tokens/s |\n|---|---|---|---|");
  for (const row of tfjs) console.log(`| ${row.backend} | ${row.role} | ${Number(row.forward_tps).toFixed(0)} | ${Number(row.train_tps).toFixed(1)} |`);

  const llama = await getLlama({ gpu: false });
  const models = { target: await llama.loadModel({ modelPath: MODELS.target }), draft: await llama.loadModel({ modelPath: MODELS.draft }) };
  const results: Record<string, Latency> = {};
  for (const threads of [1, 2]) {
    const latencies = await decodeLatencies(models, threads, ROUNDS);
    for (const role of Object.keys(MODELS) as Role[]) results[`${role}/${threads}`] = latencies[role];
  }
  for (const model of Object.values(models)) await model.dispose();
  console.log("\n| node-llama-cpp | threads | 1 token, greedy (ms) | 1 token + full distribution (ms) | batch of 8 (ms per call) | batch of 8 (ms per token) |\n|---|---|---|---|---|---|");
  for (const [role, threads] of (Object.keys(MODELS) as Role[]).flatMap((role) => [1, 2].map((t) => [role, t] as const))) {
    const r = results[`${role}/${threads}`]!;
    console.log(`| ${role} | ${threads} | ${r.greedy1.toFixed(2)} | ${r.distribution1.toFixed(2)} | ${r.batch8.toFixed(2)} | ${(r.batch8 / 8).toFixed(2)} |`);
  }
  console.log("\n| target/draft cost ratio | threads 1 | threads 2 |\n|---|---|---|");
  for (const [label, pick] of [["1 token, greedy", "greedy1"], ["1 token + distribution", "distribution1"], ["batch of 8", "batch8"]] as const) {
    const ratio = (t: number): string => (results[`target/${t}`]![pick] / results[`draft/${t}`]![pick]).toFixed(2);
    console.log(`| ${label} | ${ratio(1)} | ${ratio(2)} |`);
  }
  await llama.dispose();
}

await main();
