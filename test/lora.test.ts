/**
 * LoRA adapter files: llama.cpp's LoRA GGUF convention (kernels/lora/format.ts).
 * The equivalence test pins the format and the scale: node-llama-cpp with a random
 * adapter must match our tfjs forward with the LoRA delta added, to the tolerance of the
 * model equivalence test, while the adapter's own effect is many times that tolerance.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { getLlama, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { loadCorpus } from "../kernels/corpus.ts";
import { parseGguf, readGgufFile, type GgufFile } from "../kernels/gguf/reader.ts";
import { gguf, GgufValueType, TensorType, type GgufValue } from "../kernels/gguf/types.ts";
import { encodeGguf } from "../kernels/gguf/writer.ts";
import { finetune } from "../kernels/finetune/trainer.ts";
import { replyExample } from "../kernels/finetune/encode.ts";
import { projectionDelta } from "../kernels/lora/delta.ts";
import { AdapterError, AdapterFormatError, AdapterMismatchError } from "../kernels/lora/errors.ts";
import { effectiveScale } from "../kernels/lora/format.ts";
import { randomLoraAdapter } from "../kernels/lora/random.ts";
import { parseLoraAdapter, readLoraAdapter, validateAgainstBase } from "../kernels/lora/read.ts";
import type { LoraAdapter } from "../kernels/lora/types.ts";
import { adapterMetadata, adapterTensors, encodeLoraAdapter, writeLoraAdapter, type AdapterTensorType } from "../kernels/lora/write.ts";
import { initBackend, tf } from "../kernels/tfjs/backend.ts";
import type { LlamaConfig } from "../kernels/transformer/config.ts";
import { forward, type ProjectionDelta } from "../kernels/transformer/forward.ts";
import { configFromGguf, readLlamaModel, type LoadedModel } from "../kernels/transformer/gguf-model.ts";

/** models/target.gguf; LORA_TEST_BASE only stands in while that file does not exist yet. */
function basePath(): string {
  const target = fileURLToPath(new URL("../models/target.gguf", import.meta.url));
  if (existsSync(target)) return target;
  const fallback = process.env.LORA_TEST_BASE;
  if (fallback && existsSync(fallback)) return fallback;
  throw new Error(`${target} is missing (run \`npm run forge\`), and LORA_TEST_BASE names no file`);
}

const TOLERANCE = 2e-2;
const MIN_ARGMAX_AGREEMENT = 0.99;
const SEQUENCES = 3;
const SEQUENCE_TOKENS = 48;
const RANK = 8;
const ALPHA = 16;

const BASE = basePath();
const baseFile = readGgufFile(BASE);
const baseConfig = configFromGguf(baseFile);
const scratch = mkdtempSync(join(tmpdir(), "lora-test-"));

function withAdapterFile(name: string, adapter: LoraAdapter, type: AdapterTensorType = TensorType.F32): string {
  const path = join(scratch, name);
  writeLoraAdapter(path, adapter, { type });
  return path;
}

function assertRefused(run: () => unknown, kind: typeof AdapterFormatError | typeof AdapterMismatchError, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof kind, `expected ${kind.name}, got ${String(error)}`);
    assert.ok(error instanceof AdapterError);
    assert.match(error.message, pattern);
    return true;
  });
}

after(() => rmSync(scratch, { recursive: true, force: true }));

describe("LoRA adapter files", () => {
  const adapter = randomLoraAdapter(baseConfig, { rank: 4, alpha: 8, seed: 11, targets: ["attn_q", "attn_v", "ffn_down"] });

  it("round-trips F32 exactly and F16 to half precision", () => {
    const back = readLoraAdapter(withAdapterFile("f32.gguf", adapter), baseFile);
    assert.deepEqual(back, adapter);
    const half = readLoraAdapter(withAdapterFile("f16.gguf", adapter, TensorType.F16), baseConfig);
    assert.equal(half.weights.length, adapter.weights.length);
    half.weights.forEach((w, i) => {
      const original = adapter.weights[i]!;
      assert.deepEqual({ ...w, a: 0, b: 0 }, { ...original, a: 0, b: 0 });
      for (const [x, y] of [[w.a, original.a], [w.b, original.b]] as const) {
        for (let j = 0; j < x.length; j++) assert.ok(Math.abs(x[j]! - y[j]!) <= 1e-3 * Math.abs(y[j]!) + 1e-7);
      }
    });
    assert.deepEqual(readFileSync(join(scratch, "f32.gguf")), Buffer.from(encodeLoraAdapter(adapter)));
  });

  it("uses llama.cpp's tensor names, ggml shapes and metadata", () => {
    const file = parseGguf(encodeLoraAdapter(adapter));
    assert.equal(file.metadata.get("general.type"), "adapter");
    assert.equal(file.metadata.get("adapter.type"), "lora");
    assert.equal(file.metadata.get("general.architecture"), "llama");
    assert.equal(file.metadata.get("adapter.lora.alpha"), 8);
    const { dim, ffnDim } = baseConfig;
    const kvDim = (dim / baseConfig.heads) * baseConfig.kvHeads;
    assert.deepEqual(file.tensors.get("blk.0.attn_q.weight.lora_a")?.shape, [dim, 4]);
    assert.deepEqual(file.tensors.get("blk.0.attn_q.weight.lora_b")?.shape, [4, dim]);
    assert.deepEqual(file.tensors.get("blk.3.attn_v.weight.lora_b")?.shape, [4, kvDim]);
    assert.deepEqual(file.tensors.get("blk.3.ffn_down.weight.lora_a")?.shape, [ffnDim, 4]);
    assert.equal(file.tensors.size, 2 * 3 * baseConfig.layers);
    assert.equal(effectiveScale(8, 4), 2);
    assert.equal(effectiveScale(8, 4, 0.5), 1);
  });
});

interface Comparison {
  maxAbsDiff: number;
  argmaxAgreement: number;
}

/** llama.cpp's full next-token distributions ([token, p] pairs) against tfjs log-probabilities. */
function compare(llamaRuns: Map<number, number>[][], tfjsLogProbs: number[][][]): Comparison {
  let maxAbsDiff = 0;
  let agree = 0;
  let positions = 0;
  llamaRuns.forEach((run, s) => {
    run.forEach((probabilities, t) => {
      const row = tfjsLogProbs[s]![t]!;
      let best = -1;
      let bestP = -1;
      for (const [token, p] of probabilities) {
        if (p > 1e-6) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(Math.log(p) - row[token]!));
        if (p > bestP) [best, bestP] = [token, p];
      }
      if (row.indexOf(Math.max(...row)) === best) agree++;
      positions++;
    });
  });
  return { maxAbsDiff, argmaxAgreement: agree / positions };
}

describe("LoRA adapters in llama.cpp and in the tfjs forward", () => {
  let llama: Llama;
  let model: LlamaModel;
  let base: LoadedModel;
  let sequences: number[][];
  const adapter = randomLoraAdapter(baseConfig, { rank: RANK, alpha: ALPHA, seed: 5 });

  before(async () => {
    await initBackend();
    base = readLlamaModel(BASE);
    llama = await getLlama({ gpu: false });
    model = await llama.loadModel({ modelPath: BASE });
    const documents = loadCorpus().validation;
    const picks = [0, Math.floor(documents.length / 2), documents.length - 1];
    sequences = picks.slice(0, SEQUENCES).map((i) => {
      const tokens = model.tokenize(documents[i]!.text.slice(0, 2000)).slice(0, SEQUENCE_TOKENS).map(Number);
      assert.equal(tokens.length, SEQUENCE_TOKENS);
      return tokens;
    });
  });

  after(async () => {
    await model?.dispose();
    await llama?.dispose();
  });

  async function llamaDistributions(adapterPath: string, scale: number): Promise<Map<number, number>[][]> {
    const context = await model.createContext({ contextSize: 2 * SEQUENCE_TOKENS, threads: 1, lora: { adapters: [{ filePath: adapterPath, scale }] } });
    try {
      const sequence = context.getSequence();
      const runs: Map<number, number>[][] = [];
      for (const tokens of sequences) {
        await sequence.clearHistory();
        const output = await sequence.controlledEvaluate(
          tokens.map((token) => [token as Token, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]),
        );
        runs.push(output.map((item) => new Map([...item!.next!.probabilities!].map(([token, p]) => [Number(token), p]))));
      }
      return runs;
    } finally {
      await context.dispose();
    }
  }

  function tfjsLogProbs(delta?: ProjectionDelta): number[][][] {
    return tf.tidy(() => {
      const tokens = tf.tensor2d(sequences.flat(), [sequences.length, SEQUENCE_TOKENS], "int32");
      const { logits } = forward(base.config, base.weights, tokens, { projectionDelta: delta });
      return tf.logSoftmax(logits).arraySync() as number[][][];
    });
  }

  function tfjsWithAdapter(lora: LoraAdapter, scale: number): number[][][] {
    const delta = projectionDelta(lora, scale);
    try {
      return tfjsLogProbs(delta);
    } finally {
      delta.dispose();
    }
  }

  it("llama.cpp with the adapter equals tfjs with the LoRA delta, and the adapter matters", async () => {
    const path = withAdapterFile("random-f32.gguf", adapter);
    const fromLlama = await llamaDistributions(path, 1);
    const same = compare(fromLlama, tfjsWithAdapter(readLoraAdapter(path, baseFile), 1));
    assert.ok(same.maxAbsDiff <= TOLERANCE, `max |Δ log p| ${same.maxAbsDiff} > ${TOLERANCE}`);
    assert.ok(same.argmaxAgreement >= MIN_ARGMAX_AGREEMENT, `argmax agreement ${same.argmaxAgreement}`);
    // Without the adapter, tfjs is far from llama.cpp-with-adapter: the test above can fail.
    const effect = compare(fromLlama, tfjsLogProbs());
    assert.ok(effect.maxAbsDiff >= 10 * TOLERANCE, `the adapter moves log-probabilities by only ${effect.maxAbsDiff}`);
    // The scale is alpha / rank (2 here), not 1: a delta at the wrong scale is refused too.
    const unscaled = compare(fromLlama, tfjsWithAdapter(adapter, 1 / effectiveScale(ALPHA, RANK)));
    assert.ok(unscaled.maxAbsDiff > 5 * TOLERANCE, `a delta without alpha/rank still matches (${unscaled.maxAbsDiff})`);
    console.log(`  adapter effect ${effect.maxAbsDiff.toFixed(3)} (argmax kept ${(effect.argmaxAgreement * 100).toFixed(0)}%), ` +
      `llama.cpp vs tfjs ${same.maxAbsDiff.toExponential(2)} (argmax ${(same.argmaxAgreement * 100).toFixed(0)}%), unscaled ${unscaled.maxAbsDiff.toFixed(3)}`);
  });

  it("an adapter trained by kernels/finetune agrees too: what the trainer writes is what llama.cpp serves", async () => {
    const examples = sequences.map((tokens) => replyExample(tokens.slice(0, SEQUENCE_TOKENS / 2), tokens.slice(SEQUENCE_TOKENS / 2)));
    const { adapter: trained } = await finetune(base.config, base.weights, examples, examples, {
      lora: { rank: 4, alpha: 8, targets: ["attn_q", "attn_v", "ffn_up"] },
      dropout: 0.1,
      optimizer: "rite",
      learningRate: 0.05,
      epochs: 1,
      batchSize: SEQUENCES,
      seed: 3,
      validationFraction: 0,
      evalEvery: 100,
      patience: 0,
      maxSteps: 2,
    }, "trained");
    const path = withAdapterFile("trained.gguf", trained);
    const fromLlama = await llamaDistributions(path, 1);
    const same = compare(fromLlama, tfjsWithAdapter(readLoraAdapter(path, baseFile), 1));
    assert.ok(same.maxAbsDiff <= TOLERANCE, `max |Δ log p| ${same.maxAbsDiff} > ${TOLERANCE}`);
    assert.ok(same.argmaxAgreement >= MIN_ARGMAX_AGREEMENT, `argmax agreement ${same.argmaxAgreement}`);
    const effect = compare(fromLlama, tfjsLogProbs());
    assert.ok(effect.maxAbsDiff >= 5 * TOLERANCE, `the trained adapter moves log-probabilities by only ${effect.maxAbsDiff}`);
    console.log(`  trained adapter effect ${effect.maxAbsDiff.toFixed(3)}, llama.cpp vs tfjs ${same.maxAbsDiff.toExponential(2)}`);
  });

  it("multiplies the context's adapter scale in, F16 adapters included", async () => {
    const path = withAdapterFile("random-f16.gguf", adapter, TensorType.F16);
    const fromLlama = await llamaDistributions(path, 0.5);
    const same = compare(fromLlama, tfjsWithAdapter(readLoraAdapter(path, baseFile), 0.5));
    assert.ok(same.maxAbsDiff <= TOLERANCE, `max |Δ log p| ${same.maxAbsDiff} > ${TOLERANCE}`);
    assert.ok(same.argmaxAgreement >= MIN_ARGMAX_AGREEMENT, `argmax agreement ${same.argmaxAgreement}`);
  });
});

describe("adapters that do not fit the base are refused with a typed error", () => {
  const adapter = randomLoraAdapter(baseConfig, { rank: 2, seed: 3, targets: ["attn_q", "ffn_up"] });
  const bytes = encodeLoraAdapter(adapter);
  const withMetadata = (change: (metadata: Record<string, GgufValue>) => void): Uint8Array => {
    const metadata = adapterMetadata(adapter);
    change(metadata);
    return encodeGguf(metadata, adapterTensors(adapter));
  };
  const check = (data: Uint8Array, base: GgufFile | LlamaConfig = baseFile): LoraAdapter => parseLoraAdapter(data, "adapter.gguf", base);

  it("accepts the adapter as written, against the file or the config", () => {
    assert.deepEqual(check(bytes, baseFile), adapter);
    const summary = validateAgainstBase(parseGguf(bytes, "adapter.gguf"), baseConfig);
    assert.equal(summary.rank, 2);
    assert.equal(summary.targets.length, 2 * baseConfig.layers);
  });

  it("refuses another architecture", () => {
    assertRefused(() => check(encodeLoraAdapter({ ...adapter, architecture: "qwen2" })), AdapterMismatchError, /architecture "qwen2" does not match.*"llama"/);
  });

  it("refuses shapes of a different model", () => {
    const narrower = { ...baseConfig, dim: baseConfig.dim / 2, heads: baseConfig.heads / 2, kvHeads: baseConfig.kvHeads / 2 };
    assertRefused(() => check(encodeLoraAdapter(randomLoraAdapter(narrower, { rank: 2 }))), AdapterMismatchError, /tensor blk\.0\.attn_q\.weight\.lora_a.*base weight has ggml shape/);
    const wider = { ...baseConfig, ffnDim: baseConfig.ffnDim * 2 };
    assertRefused(() => check(encodeLoraAdapter(randomLoraAdapter(wider, { rank: 2, targets: ["ffn_down"] })), baseConfig), AdapterMismatchError, /ffn_down/);
    const deeper = { ...baseConfig, layers: baseConfig.layers + 1 };
    const extraLayer = `blk.${baseConfig.layers}.attn_q.weight`;
    assertRefused(() => check(encodeLoraAdapter(randomLoraAdapter(deeper, { rank: 2, targets: ["attn_q"] }))), AdapterMismatchError, new RegExp(`${extraLayer} does not exist in the base`));
    assertRefused(() => check(encodeLoraAdapter(randomLoraAdapter(deeper, { rank: 2, targets: ["attn_q"] })), baseConfig), AdapterMismatchError, /does not exist in the base model/);
  });

  it("refuses missing or mistyped metadata", () => {
    assertRefused(() => check(withMetadata((m) => delete m["adapter.lora.alpha"])), AdapterFormatError, /adapter\.lora\.alpha is missing/);
    // llama.cpp would abort the whole process on these (gguf_get_val_f32 / _str assert the type).
    assertRefused(() => check(withMetadata((m) => (m["adapter.lora.alpha"] = gguf.u32(16)))), AdapterFormatError, /alpha must be a float32/);
    assertRefused(() => check(withMetadata((m) => (m["general.type"] = gguf.u32(1)))), AdapterFormatError, /general\.type must be a string/);
    assertRefused(() => check(withMetadata((m) => (m["adapter.lora.alpha"] = gguf.f32(0)))), AdapterFormatError, /alpha must be a positive number/);
    assertRefused(() => check(withMetadata((m) => (m["general.type"] = gguf.string("model")))), AdapterFormatError, /general\.type is "model", expected "adapter"/);
    assertRefused(() => check(withMetadata((m) => delete m["general.type"])), AdapterFormatError, /general\.type is missing/);
    assertRefused(() => check(withMetadata((m) => (m["adapter.type"] = gguf.string("control_vector")))), AdapterFormatError, /adapter\.type/);
    assertRefused(() => check(withMetadata((m) => (m["adapter.alora.invocation_tokens"] = { type: GgufValueType.ARRAY, itemType: GgufValueType.UINT32, value: [1, 2] }))), AdapterFormatError, /aLoRA/);
  });

  it("refuses broken tensor layouts", () => {
    const tensors = adapterTensors(adapter);
    const metadata = adapterMetadata(adapter);
    assertRefused(() => check(encodeGguf(metadata, tensors.filter((t) => t.name !== "blk.1.ffn_up.weight.lora_b"))), AdapterFormatError, /blk\.1\.ffn_up\.weight is missing lora_b/);
    const renamed = tensors.map((t, i) => (i === 0 ? { ...t, name: "output.weight.lora_a" } : t));
    assertRefused(() => check(encodeGguf(metadata, renamed)), AdapterFormatError, /tensor output\.weight\.lora_a.*unexpected tensor/);
    // lora_a written untransposed, as [rank, in]: the ranks no longer meet.
    const untransposed = tensors.map((t) => (t.name === "blk.0.attn_q.weight.lora_a" ? { ...t, shape: [...t.shape].reverse() } : t));
    assertRefused(() => check(encodeGguf(metadata, untransposed)), AdapterFormatError, /expected \[in, rank\] and \[rank, out\]/);
    const rank3 = randomLoraAdapter(baseConfig, { rank: 3, targets: ["attn_k"] });
    const mixedTensors = [...tensors, ...adapterTensors(rank3)];
    assertRefused(() => check(encodeGguf(metadata, mixedTensors)), AdapterFormatError, /mixed ranks/);
    assertRefused(() => check(encodeGguf(metadata, [])), AdapterFormatError, /no LoRA tensors/);
    const nan = { ...adapter, weights: adapter.weights.map((w, i) => (i === 1 ? { ...w, b: w.b.map((v, j) => (j === 5 ? NaN : v)) } : w)) };
    assertRefused(() => check(encodeGguf(metadata, adapterTensors(nan))), AdapterFormatError, /non-finite value at element 5/);
  });

  it("refuses truncated files and non-files, never reading past the buffer", () => {
    const cuts = [0, 3, 8, 20, 24, 40, 100, 200, 300, 500, 1000, 2000, 4000, bytes.length - 32, bytes.length - 1];
    for (let cut = 0; cut < 2000; cut += 37) cuts.push(cut);
    for (const cut of cuts) assertRefused(() => check(bytes.subarray(0, cut)), AdapterFormatError, /adapter\.gguf/);
    const truncated = join(scratch, "truncated.gguf");
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    assertRefused(() => readLoraAdapter(truncated, baseFile), AdapterFormatError, /truncated\.gguf.*past the end of the file/);
    assert.throws(() => readLoraAdapter(join(scratch, "missing.gguf"), baseFile), (error: unknown) => error instanceof AdapterError && error.kind === "unreadable");
    assert.throws(() => readLoraAdapter(scratch, baseFile), (error: unknown) => error instanceof AdapterError && error.kind === "unreadable");
    assertRefused(() => readLoraAdapter(BASE, baseFile), AdapterFormatError, /general\.type is missing|general\.type is "model"/);
  });
});
