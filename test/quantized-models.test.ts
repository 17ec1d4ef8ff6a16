/**
 * Our dequantizers read every type we support (legacy Q4/Q5/Q8 blocks, K-quants, IQ4_XS, the
 * float types) the way llama.cpp does: a small model is
 * written with a quantized tensor, node-llama-cpp evaluates it, and tfjs evaluates the
 * weights as our reader decodes them. With only the token embedding quantized,
 * llama.cpp dequantizes it exactly (a row lookup) and computes the rest in F32, so the
 * two must agree tightly. With every matrix quantized, llama.cpp also quantizes the
 * activations inside its matmuls, so the bound is looser, yet far below what a wrong
 * block layout (scrambled weights) would give.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getLlama, type Llama } from "node-llama-cpp";
import { TensorType } from "../kernels/gguf/types.ts";
import { initBackend, tf } from "../kernels/tfjs/backend.ts";
import { compareWithLlama, type Agreement } from "./llama-agreement.ts";
import { trainBpe } from "../kernels/tokenizer/bpe-trainer.ts";
import type { LlamaConfig } from "../kernels/transformer/config.ts";
import { llamaMetadata, readLlamaModel, toGgufTensor, writeLlamaModel } from "../kernels/transformer/gguf-model.ts";
import { initWeights, namedTensors, type LlamaWeights } from "../kernels/transformer/weights.ts";
import { writeGgufFile } from "../kernels/gguf/writer.ts";
import { tokenizerMetadata } from "../kernels/tokenizer/gguf-tokenizer.ts";

const text = "The whale, the ship and the sea; the captain and the crew of the Pequod sailed on. ".repeat(20);
const tokenizer = trainBpe([text], 300);
const config: LlamaConfig = { vocabSize: tokenizer.tokens.length, dim: 256, layers: 2, heads: 4, kvHeads: 2, ffnDim: 512, contextLength: 128, ropeBase: 10000, normEps: 1e-5 };

let llama: Llama;
before(async () => {
  await initBackend();
  llama = await getLlama({ gpu: false });
});
after(async () => {
  await llama.dispose();
});

/** Weights several times the init scale, so the next-token distributions are far from flat. */
function sharpWeights(): LlamaWeights {
  const weights = initWeights(config, 21);
  const scale = (t: tf.Tensor, f: number): tf.Tensor => tf.mul(t, f);
  return {
    token_embd: scale(weights.token_embd, 50) as tf.Tensor2D,
    layers: weights.layers.map((l) => ({ ...l, attn_q: scale(l.attn_q, 4) as tf.Tensor2D, attn_k: scale(l.attn_k, 4) as tf.Tensor2D, ffn_down: scale(l.ffn_down, 8) as tf.Tensor2D })),
    output_norm: weights.output_norm,
    output: scale(weights.output, 10) as tf.Tensor2D,
  };
}

async function compare(path: string): Promise<Agreement> {
  const { weights } = readLlamaModel(path);
  const model = await llama.loadModel({ modelPath: path });
  const context = await model.createContext({ contextSize: 128, threads: 1 });
  const result = await compareWithLlama(context.getSequence(), config, weights, model.tokenize(text, false).slice(0, 64), 1e-6);
  await context.dispose();
  await model.dispose();
  return result;
}

const TYPES = [
  TensorType.Q8_0, TensorType.Q6_K, TensorType.Q5_K, TensorType.Q4_K, TensorType.Q5_1, TensorType.Q5_0, TensorType.Q4_1, TensorType.Q4_0,
  TensorType.IQ4_XS, TensorType.BF16, TensorType.F16,
];

describe("quantized GGUF tensors decode as llama.cpp decodes them", () => {
  const dir = mkdtempSync(join(tmpdir(), "quantized-"));
  for (const type of TYPES) {
    it(`${TensorType[type]} token embedding: exact dequantization`, async () => {
      const path = join(dir, `embedding-${TensorType[type]}.gguf`);
      const tensors = namedTensors(sharpWeights()).map(([name, t]) => toGgufTensor(name, t, name === "token_embd.weight" ? type : TensorType.F32));
      writeGgufFile(path, { ...llamaMetadata(config, "embedding", TensorType.F32), ...tokenizerMetadata(tokenizer) }, tensors);
      const result = await compare(path);
      assert.ok(result.spread > 5, `distributions are sharp enough to tell weights apart (log-prob spread ${result.spread})`);
      assert.ok(result.maxDiff < 2e-3, `max |log p_llama - log p_tfjs| = ${result.maxDiff}`);
      assert.equal(result.agreements, result.positions);
    });
    it(`${TensorType[type]} in every matrix: llama.cpp's quantized matmuls agree`, async () => {
      const path = join(dir, `${TensorType[type]}.gguf`);
      writeLlamaModel(path, config, sharpWeights(), tokenizer, { name: `quantized-${TensorType[type]}`, matrixType: type });
      const result = await compare(path);
      assert.ok(result.spread > 5, `log-prob spread ${result.spread}`);
      assert.ok(result.maxDiff < 0.25, `max |log p_llama - log p_tfjs| = ${result.maxDiff}`);
      assert.ok(result.agreements >= result.positions - 2, `argmax agreement ${result.agreements}/${result.positions}`);
    });
  }
});
