/**
 * `npm run bench:grammar`: grammar-constrained decoding against unconstrained decoding on the demo
 * pair (models/target.gguf, models/draft.gguf; threads 1, one stream), through the gateway's
 * generateChoice loop: plain decoding and SpecTr (K = 4, L = 4), each without a grammar and
 * under a JSON schema's grammar, at temperature 1 and 0. PROMPTS validation prompts (default 24),
 * 48 tokens each (EOS ignored, so every run emits as many; the schema asks for at least 20
 * records, so no document can close within 48 tokens and every token is a constrained one).
 * Each prompt runs unconstrained and constrained back to back (alternating which goes first), so
 * drifting load on a shared machine falls on both. Columns: median tokens/s per request, the
 * median over prompts of the constrained/unconstrained tokens/s ratio, and for SpecTr
 * the draft acceptance (the fraction of draft positions a block kept: drafts are proposed under
 * the same grammar state, so constrained drafts are the only ones) and block efficiency (tokens
 * per target call). The last line is JSON.
 */
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { loadCorpus } from "../kernels/corpus.ts";
import { plainDecoding } from "../src/engine/decoding/plain.ts";
import { fixedSpeculation, SpectrDecoding } from "../src/engine/decoding/spectr.ts";
import { createDraftPool, leaseSpectrSequences } from "../src/engine/decoding/spectr-sequences.ts";
import type { DecodingStrategy } from "../src/engine/decoding/strategy.ts";
import { generateChoice } from "../src/engine/generate.ts";
import type { Grammar } from "../src/engine/grammar.ts";
import { greedy } from "../src/engine/sampling/params.ts";
import { ServedModel } from "../src/engine/served-model.ts";
import { median } from "./stats.ts";

const PROMPTS = Number(process.argv[2] ?? 24);
const MAX_TOKENS = 48;
const CONTEXT = 256;
const K = 4;
const L = 4;
const schema = {
  type: "array",
  minItems: 20,
  items: { type: "object", properties: { name: { type: "string" }, year: { type: "integer" }, tags: { type: "array", items: { type: "string" } } } },
};

const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
const target = await ServedModel.load(llama, { id: "target", path: "models/target.gguf", threads: 1, contextSize: CONTEXT, sequences: K + 1, contexts: 1, batchSize: 512 });
const draftModel = await llama.loadModel({ modelPath: "models/draft.gguf" });
const draftPool = await createDraftPool(draftModel, { sequencesPerContext: [K + 1], contextSize: CONTEXT, threads: 1, batchSize: 512 });
const grammar = await target.grammars.get({ jsonSchema: schema }, "bench");
const lines = loadCorpus().validation.flatMap((d) => d.text.split("\n")).filter((line) => line.length > 200);
const step = Math.floor(lines.length / PROMPTS);
const prompts = Array.from({ length: PROMPTS }, (_, i) => target.tokenize(`${lines[i * step]!.slice(0, 120).replace(/\s+\S*$/, "")}\nAs JSON:`));

interface Run {
  tps: number;
  accepted: number;
  /** Draft positions proposed (L per block). */
  drafted: number;
  emitted: number;
  targetCalls: number;
}

async function runOne(speculative: boolean, constrained: Grammar | undefined, prompt: number[], temperature: number, seed: number): Promise<Run> {
  await using lease = leaseSpectrSequences(target.pool, draftPool, speculative ? K : 1);
  const strategy: DecodingStrategy = speculative ? new SpectrDecoding({ targets: lease.targets, drafts: lease.drafts, policy: fixedSpeculation(K, L), vocabularySize: target.vocabularySize }) : plainDecoding;
  const start = performance.now();
  let tokens = 0;
  const generator = generateChoice(target, lease.targets[0]!, strategy, {
    prompt,
    evaluated: 0,
    maxTokens: MAX_TOKENS,
    sampling: { ...greedy, temperature },
    seed,
    stop: [],
    stopTokenIds: new Set(),
    ignoreEos: true,
    logprobs: null,
    ...(constrained === undefined ? {} : { grammar: constrained.start() }),
    signal: new AbortController().signal,
  });
  for await (const delta of generator) tokens += delta.tokens.length;
  const ms = performance.now() - start;
  const f = strategy instanceof SpectrDecoding ? strategy.figures : undefined;
  return { tps: (tokens * 1000) / ms, accepted: f?.acceptedTokens ?? 0, drafted: f?.draftCalls ?? 0, emitted: f?.emittedTokens ?? tokens, targetCalls: f?.targetCalls ?? tokens };
}

const results: Record<string, { tps: number; ratio: number; acceptance: number | null; blockEfficiency: number | null }> = {};
for (const temperature of [1, 0]) {
  console.log(`\ntemperature ${temperature}, ${PROMPTS} prompts x ${MAX_TOKENS} tokens, one stream`);
  console.log("decoding          grammar      median_tps  ratio  acceptance  block_eff");
  for (const speculative of [false, true]) {
    const runs: Record<"free" | "constrained", Run[]> = { free: [], constrained: [] };
    // One warm-up run each, unmeasured (first evaluations pay for allocations).
    await runOne(speculative, undefined, prompts[0]!, temperature, 99);
    await runOne(speculative, grammar, prompts[0]!, temperature, 99);
    // Side by side: each prompt runs unconstrained and constrained back to back, in alternating
    // order, so the machine's drifting load falls on both; the ratio is the median of per-prompt ratios.
    for (const [i, prompt] of prompts.entries()) {
      const order = i % 2 === 0 ? (["free", "constrained"] as const) : (["constrained", "free"] as const);
      for (const kind of order) runs[kind].push(await runOne(speculative, kind === "free" ? undefined : grammar, prompt, temperature, i + 1));
    }
    const ratio = median(runs.constrained.map((run, i) => run.tps / runs.free[i]!.tps));
    for (const kind of ["free", "constrained"] as const) {
      const kindRuns = runs[kind];
      const tps = median(kindRuns.map((run) => run.tps));
      const drafted = kindRuns.reduce((sum, run) => sum + run.drafted, 0);
      const acceptance = speculative ? kindRuns.reduce((sum, run) => sum + run.accepted, 0) / drafted : null;
      const blockEfficiency = speculative ? kindRuns.reduce((sum, run) => sum + run.emitted, 0) / kindRuns.reduce((sum, run) => sum + run.targetCalls, 0) : null;
      const name = `${speculative ? `spectr K=${K} L=${L}` : "plain"}`;
      const label = kind === "free" ? "none" : "json schema";
      const kindRatio = kind === "free" ? 1 : ratio;
      results[`${name} ${label} T=${temperature}`] = { tps, ratio: kindRatio, acceptance, blockEfficiency };
      console.log(
        `${name.padEnd(18)}${label.padEnd(13)}${tps.toFixed(1).padStart(10)}  ${kindRatio.toFixed(2).padStart(5)}  ${acceptance === null ? "         -" : acceptance.toFixed(3).padStart(10)}  ${blockEfficiency === null ? "        -" : blockEfficiency.toFixed(2).padStart(9)}`,
      );
    }
  }
}
console.log(JSON.stringify(results));
await draftPool.dispose();
await draftModel.dispose();
await target.dispose();
await llama.dispose();
