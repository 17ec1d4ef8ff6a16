/** Reads and writes llama-architecture models as GGUF files llama.cpp loads. */
import { tf } from "../tfjs/backend.ts";
import { encodeTensor } from "../gguf/quant.ts";
import { GgufFormatError } from "../gguf/errors.ts";
import { metadataNumber, metadataString, readGgufFile, tensorValues, type GgufFile } from "../gguf/reader.ts";
import { gguf, TensorType, type GgufLayout, type GgufTensor, type GgufValue } from "../gguf/types.ts";
import { writeGgufFile } from "../gguf/writer.ts";
import { tokenizerMetadata, type TokenizerSpec } from "../tokenizer/gguf-tokenizer.ts";
import { headDim, validateConfig, type LlamaConfig } from "./config.ts";
import { isProjection, namedTensors, PROJECTIONS, projectionShape, type LayerWeights, type LlamaWeights } from "./weights.ts";

/** general.file_type values (llama_ftype) for the types we write. */
const FILE_TYPE: Record<TensorType, number> = {
  [TensorType.F32]: 0,
  [TensorType.F16]: 1,
  [TensorType.Q4_0]: 2,
  [TensorType.Q4_1]: 3,
  [TensorType.Q8_0]: 7,
  [TensorType.Q5_0]: 8,
  [TensorType.Q5_1]: 9,
  [TensorType.Q4_K]: 14,
  [TensorType.Q5_K]: 16,
  [TensorType.Q6_K]: 18,
  [TensorType.IQ4_XS]: 30,
  [TensorType.BF16]: 32,
};

export interface WriteModelOptions {
  name: string;
  /** Type of the matrices; norms are always F32, as llama.cpp expects. */
  matrixType?: TensorType;
  extraMetadata?: Record<string, GgufValue>;
}

export function llamaMetadata(config: LlamaConfig, name: string, matrixType: TensorType): Record<string, GgufValue> {
  return {
    "general.architecture": gguf.string("llama"),
    "general.name": gguf.string(name),
    "general.file_type": gguf.u32(FILE_TYPE[matrixType]),
    "llama.vocab_size": gguf.u32(config.vocabSize),
    "llama.context_length": gguf.u32(config.contextLength),
    "llama.embedding_length": gguf.u32(config.dim),
    "llama.block_count": gguf.u32(config.layers),
    "llama.feed_forward_length": gguf.u32(config.ffnDim),
    "llama.attention.head_count": gguf.u32(config.heads),
    "llama.attention.head_count_kv": gguf.u32(config.kvHeads),
    "llama.rope.dimension_count": gguf.u32(headDim(config)),
    "llama.rope.freq_base": gguf.f32(config.ropeBase),
    "llama.attention.layer_norm_rms_epsilon": gguf.f32(config.normEps),
  };
}

/** Converts a tfjs tensor to a GGUF tensor; [in, out] projections become W[out][in]. */
export function toGgufTensor(name: string, tensor: tf.Tensor, type: TensorType): GgufTensor {
  const stored = isProjection(name) ? tf.transpose(tensor) : tensor;
  const values = stored.dataSync() as Float32Array;
  const shape = [...stored.shape].reverse();
  if (stored !== tensor) stored.dispose();
  const effectiveType = tensor.rank === 1 ? TensorType.F32 : type;
  return { name, shape, type: effectiveType, data: encodeTensor(effectiveType, values) };
}

export function writeLlamaModel(path: string, config: LlamaConfig, weights: LlamaWeights, tokenizer: TokenizerSpec, options: WriteModelOptions): void {
  validateConfig(config);
  if (tokenizer.tokens.length !== config.vocabSize) {
    throw new Error(`the tokenizer has ${tokenizer.tokens.length} tokens but the model's vocabulary is ${config.vocabSize}`);
  }
  const matrixType = options.matrixType ?? TensorType.F32;
  const metadata = { ...llamaMetadata(config, options.name, matrixType), ...tokenizerMetadata(tokenizer), ...options.extraMetadata };
  const tensors = namedTensors(weights).map(([name, tensor]) => toGgufTensor(name, tensor, matrixType));
  writeGgufFile(path, metadata, tensors);
}

export function configFromGguf(file: GgufLayout): LlamaConfig {
  const architecture = metadataString(file, "general.architecture");
  if (architecture !== "llama") throw new GgufFormatError(file.path, `architecture ${architecture} is not supported (llama only)`);
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  const config: LlamaConfig = {
    vocabSize: Array.isArray(tokens) ? tokens.length : metadataNumber(file, "llama.vocab_size"),
    dim: metadataNumber(file, "llama.embedding_length"),
    layers: metadataNumber(file, "llama.block_count"),
    heads: metadataNumber(file, "llama.attention.head_count"),
    kvHeads: Number(file.metadata.get("llama.attention.head_count_kv") ?? metadataNumber(file, "llama.attention.head_count")),
    ffnDim: metadataNumber(file, "llama.feed_forward_length"),
    contextLength: metadataNumber(file, "llama.context_length"),
    ropeBase: Number(file.metadata.get("llama.rope.freq_base") ?? 10000),
    normEps: metadataNumber(file, "llama.attention.layer_norm_rms_epsilon"),
  };
  try {
    validateConfig(config);
  } catch (error) {
    throw new GgufFormatError(file.path, (error as Error).message);
  }
  return config;
}

function loadTensor(file: GgufFile, name: string, expectedShape: number[]): tf.Tensor {
  const info = file.tensors.get(name);
  if (!info) throw new GgufFormatError(file.path, "missing tensor", name);
  const projection = isProjection(name);
  const storedShape = projection ? [...expectedShape].reverse() : expectedShape;
  const ggmlShape = [...storedShape].reverse();
  if (info.shape.length !== ggmlShape.length || info.shape.some((d, i) => d !== ggmlShape[i])) {
    throw new GgufFormatError(file.path, `shape [${info.shape.join(", ")}] does not match the expected [${ggmlShape.join(", ")}]`, name);
  }
  const stored = tf.tensor(tensorValues(file, name), storedShape);
  if (!projection) return stored;
  const transposed = tf.transpose(stored);
  stored.dispose();
  return transposed;
}

/** Models without output.weight reuse the token embedding as the head. */
function tiedOutput(file: GgufFile, config: LlamaConfig): tf.Tensor {
  const table = loadTensor(file, "token_embd.weight", [config.vocabSize, config.dim]);
  const head = tf.transpose(table);
  table.dispose();
  return head;
}

export interface LoadedModel {
  config: LlamaConfig;
  weights: LlamaWeights;
  file: GgufFile;
}

export function readLlamaModel(path: string): LoadedModel {
  const file = readGgufFile(path);
  const config = configFromGguf(file);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.layers; l++) {
    const layer: Partial<Record<keyof LayerWeights, tf.Tensor>> = {
      attn_norm: loadTensor(file, `blk.${l}.attn_norm.weight`, [config.dim]),
      ffn_norm: loadTensor(file, `blk.${l}.ffn_norm.weight`, [config.dim]),
    };
    for (const projection of PROJECTIONS) layer[projection] = loadTensor(file, `blk.${l}.${projection}.weight`, projectionShape(config, projection));
    layers.push(layer as LayerWeights);
  }
  const weights: LlamaWeights = {
    token_embd: loadTensor(file, "token_embd.weight", [config.vocabSize, config.dim]) as tf.Tensor2D,
    layers,
    output_norm: loadTensor(file, "output_norm.weight", [config.dim]) as tf.Tensor1D,
    output: (file.tensors.has("output.weight")
      ? loadTensor(file, "output.weight", [config.dim, config.vocabSize])
      : tiedOutput(file, config)) as tf.Tensor2D,
  };
  return { config, weights, file };
}
