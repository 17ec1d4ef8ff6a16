/**
 * A random-weight reranker GGUF that llama.cpp loads as a ranking model: the qwen3
 * architecture (llama's layers plus per-head RMS norms of q and k) with a `cls.output` head
 * over the labels "yes"/"no", as Qwen3-Reranker GGUFs are converted. llama.cpp's rank pooling
 * reads the head at the last token and takes the softmax; the score is p("yes").
 */
import { encodeTensor } from "../gguf/quant.ts";
import { gguf, TensorType, type GgufTensor, type GgufValue } from "../gguf/types.ts";
import { writeGgufFile } from "../gguf/writer.ts";
import { createRandom } from "../random.ts";
import { headDim, type LlamaConfig } from "./config.ts";
import { randomLlama, type RandomModelOptions } from "./random-model.ts";

export function writeRandomReranker(path: string, options: RandomModelOptions): LlamaConfig {
  const { config, metadata, tensors } = randomLlama(options);
  const renamed: Record<string, GgufValue> = {};
  for (const [key, value] of Object.entries(metadata)) renamed[key.startsWith("llama.") ? `qwen3.${key.slice("llama.".length)}` : key] = value;
  renamed["general.architecture"] = gguf.string("qwen3");
  renamed["qwen3.classifier.output_labels"] = gguf.strings(["yes", "no"]);
  renamed["qwen3.pooling_type"] = gguf.u32(4); // rank
  const f32 = (name: string, shape: number[], values: Float32Array): GgufTensor => ({ name, shape, type: TensorType.F32, data: encodeTensor(TensorType.F32, values) });
  const head = headDim(config);
  const norms = Array.from({ length: config.layers }, (_, l) => [
    f32(`blk.${l}.attn_q_norm.weight`, [head], new Float32Array(head).fill(1)),
    f32(`blk.${l}.attn_k_norm.weight`, [head], new Float32Array(head).fill(1)),
  ]).flat();
  const random = createRandom((options.seed ?? 1) + 1000);
  const classifier = new Float32Array(2 * config.dim).map(() => random.normal() / Math.sqrt(config.dim));
  writeGgufFile(path, renamed, [...tensors, ...norms, f32("cls.output.weight", [config.dim, 2], classifier)]);
  return config;
}
