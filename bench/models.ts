/**
 * `npm run bench:models`: what the demo models cost.
 *  - tfjs forward and training tokens/s for each available backend (each in its own
 *    process, since a process has one backend), on the target and the draft;
 *  - node-llama-cpp decode latency of target and draft at threads 1 and 2: one token
 *    per call (greedy, and with the full next-token distribution that speculative
 *    decoding reads) and a batch of 8 tokens per call.
 * Medians of repeated runs; ratios are taken within this one run.
 */
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { initBackend, tf, type BackendName } from "../kernels/tfjs/backend.ts";
import { crossEntropy, forward } from "../kernels/transformer/forward.ts";
import { readLlamaModel } from "../kernels/transformer/gguf-model.ts";
import { toVariables } from "../kernels/transformer/train.ts";

const MODELS = { target: "models/target.gguf", draft: "models/draft.gguf" } as const;
type Role = keyof typeof MODELS;

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

async function decodeLatency(model: LlamaModel, threads: number): Promise<{ greedy1: number; distribution1: number; batch8: number }> {
  const context = await model.createContext({ contextSize: 512, threads, sequences: 1 });
  const sequence = context.getSequence();
  const prompt = model.tokenize("Fellow-Citizens of the Senate and House of Representatives: the whale", false);
  await sequence.controlledEvaluate(prompt);
  const tokenAt = (i: number): number => Number(prompt[i % prompt.length]);
  const timed = async (count: number, run: (i: number) => Promise<unknown>): Promise<number> => {
    await run(0);
    const times: number[] = [];
    for (let i = 1; i <= count; i++) {
      const start = performance.now();
      await run(i);
      times.push(performance.now() - start);
    }
    return median(times);
  };
  // Stay well inside the context: each call appends tokens; clear before it fills.
  const keepRoom = async (needed: number): Promise<void> => {
    if (sequence.nextTokenIndex + needed > 480) {
      await sequence.eraseContextTokenRanges([{ start: prompt.length, end: sequence.nextTokenIndex }]);
    }
  };
  const greedy1 = await timed(48, async (i) => {
    await keepRoom(1);
    await sequence.controlledEvaluate([[tokenAt(i), { generateNext: { token: true, options: { temperature: 0 } } }]] as never);
  });
  const distribution1 = await timed(48, async (i) => {
    await keepRoom(1);
    await sequence.controlledEvaluate([[tokenAt(i), { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]] as never);
  });
  const batch8 = await timed(16, async (i) => {
    await keepRoom(8);
    const items = Array.from({ length: 8 }, (_, j) => (j === 7 ? [tokenAt(i + j), { generateNext: { token: true, options: { temperature: 0 } } }] : tokenAt(i + j)));
    await sequence.controlledEvaluate(items as never);
  });
  await context.dispose();
  return { greedy1, distribution1, batch8 };
}

async function main(): Promise<void> {
  if (process.argv.includes("--tfjs-child")) return tfjsChild();
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, node ${process.version}`);
  const tfjs = tfjsRows();
  console.log("\n| tfjs backend | model | forward tokens/s | training tokens/s |\n|---|---|---|---|");
  for (const row of tfjs) console.log(`| ${row.backend} | ${row.role} | ${Number(row.forward_tps).toFixed(0)} | ${Number(row.train_tps).toFixed(1)} |`);

  const llama = await getLlama({ gpu: false });
  const results: Record<string, Awaited<ReturnType<typeof decodeLatency>>> = {};
  for (const role of Object.keys(MODELS) as Role[]) {
    const model = await llama.loadModel({ modelPath: MODELS[role] });
    for (const threads of [1, 2]) results[`${role}/${threads}`] = await decodeLatency(model, threads);
    await model.dispose();
  }
  console.log("\n| node-llama-cpp | threads | 1 token, greedy (ms) | 1 token + full distribution (ms) | batch of 8 (ms per call) | batch of 8 (ms per token) |\n|---|---|---|---|---|---|");
  for (const [key, r] of Object.entries(results)) {
    const [role, threads] = key.split("/");
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
