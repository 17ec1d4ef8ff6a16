/**
 * Random-weight llama GGUFs of any vocabulary size, for measuring what grows with the
 * vocabulary (real models have 32k-256k tokens; the demo pair has 2k). The tokenizer is a
 * base tokenizer's (the demo target's by default) padded with tokens that its merges can never
 * produce: prompts tokenize as in the base, while the model's output covers every token.
 * The output head is scaled so that next-token distributions are peaked like a trained
 * model's (a few nats of entropy) rather than uniform over the vocabulary.
 */
import { readGgufFile, type GgufFile } from "../gguf/reader.ts";
import { TensorType, type GgufTensor, type GgufValue } from "../gguf/types.ts";
import { encodeTensor } from "../gguf/quant.ts";
import { writeGgufFile } from "../gguf/writer.ts";
import { createRandom } from "../random.ts";
import { TOKEN_TYPE, tokenizerMetadata, type TokenizerSpec } from "../tokenizer/gguf-tokenizer.ts";
import { headDim, type LlamaConfig } from "./config.ts";
import { llamaMetadata } from "./gguf-model.ts";
import { PROJECTIONS, projectionShape } from "./weights.ts";

export interface RandomModelOptions {
  vocabSize: number;
  dim?: number;
  layers?: number;
  ffnDim?: number;
  heads?: number;
  contextLength?: number;
  seed?: number;
  /** Standard deviation of the logits: larger is more peaked (default 4). */
  logitStd?: number;
  /** The tokenizer to pad (default: the demo target's). */
  baseTokenizer?: string;
}

const demoTarget = new URL("../../models/target.gguf", import.meta.url).pathname;

/** Writes a random llama GGUF to `path` and returns its configuration. */
export function writeRandomLlama(path: string, options: RandomModelOptions): LlamaConfig {
  const { config, metadata, tensors } = randomLlama(options);
  writeGgufFile(path, metadata, tensors);
  return config;
}

export interface RandomLlama {
  config: LlamaConfig;
  metadata: Record<string, GgufValue>;
  tensors: GgufTensor[];
}

/** A random llama model's GGUF metadata and tensors (see writeRandomLlama). */
export function randomLlama(options: RandomModelOptions): RandomLlama {
  const tokenizer = paddedTokenizer(readTokenizer(readGgufFile(options.baseTokenizer ?? demoTarget)), options.vocabSize);
  const dim = options.dim ?? 64;
  const config: LlamaConfig = {
    vocabSize: options.vocabSize,
    dim,
    layers: options.layers ?? 2,
    heads: options.heads ?? 4,
    kvHeads: options.heads ?? 4,
    ffnDim: options.ffnDim ?? 4 * dim,
    contextLength: options.contextLength ?? 2048,
    ropeBase: 10000,
    normEps: 1e-5,
  };
  const random = createRandom(options.seed ?? 1);
  const matrix = (rows: number, columns: number, std: number): Float32Array => {
    const values = new Float32Array(rows * columns);
    for (let i = 0; i < values.length; i++) values[i] = random.normal() * std;
    return values;
  };
  // GGUF shapes are [columns, rows] (innermost first); a projection W[out][in] is stored as [in, out].
  const tensor = (name: string, shape: number[], values: Float32Array): GgufTensor => {
    const type = shape.length === 1 ? TensorType.F32 : TensorType.F16;
    return { name, shape, type, data: encodeTensor(type, values) };
  };
  const ones = (n: number): Float32Array => new Float32Array(n).fill(1);
  const tensors: GgufTensor[] = [tensor("token_embd.weight", [dim, config.vocabSize], matrix(config.vocabSize, dim, 1))];
  for (let l = 0; l < config.layers; l++) {
    tensors.push(tensor(`blk.${l}.attn_norm.weight`, [dim], ones(dim)), tensor(`blk.${l}.ffn_norm.weight`, [dim], ones(dim)));
    for (const projection of PROJECTIONS) {
      const [input, output] = projectionShape(config, projection);
      tensors.push(tensor(`blk.${l}.${projection}.weight`, [input, output], matrix(output, input, 0.5 / Math.sqrt(input))));
    }
  }
  // After the final RMS norm the hidden state has unit scale per dimension, so logits have std ~ std * sqrt(dim).
  const logitStd = options.logitStd ?? 4;
  tensors.push(
    tensor("output_norm.weight", [dim], ones(dim)),
    tensor("output.weight", [dim, config.vocabSize], matrix(config.vocabSize, dim, logitStd / Math.sqrt(dim))),
  );
  if (headDim(config) * config.heads !== dim) throw new Error(`dim ${dim} is not divisible by ${config.heads} heads`);
  return { config, metadata: { ...llamaMetadata(config, `random-v${config.vocabSize}`, TensorType.F16), ...tokenizerMetadata(tokenizer) }, tensors };
}

function readTokenizer(file: GgufFile): TokenizerSpec {
  const strings = (key: string): string[] => {
    const value = file.metadata.get(key);
    if (!Array.isArray(value)) throw new Error(`${file.path} has no ${key}`);
    return value.map(String);
  };
  const types = file.metadata.get("tokenizer.ggml.token_type");
  return {
    tokens: strings("tokenizer.ggml.tokens"),
    tokenTypes: Array.isArray(types) ? types.map(Number) : [],
    merges: strings("tokenizer.ggml.merges"),
    eosId: Number(file.metadata.get("tokenizer.ggml.eos_token_id")),
    bosId: Number(file.metadata.get("tokenizer.ggml.bos_token_id")),
  };
}

/** The base tokenizer with normal tokens appended up to `vocabSize`; no merge produces them. */
export function paddedTokenizer(base: TokenizerSpec, vocabSize: number): TokenizerSpec {
  if (vocabSize < base.tokens.length) throw new Error(`vocabulary ${vocabSize} is smaller than the base tokenizer's ${base.tokens.length}`);
  const tokens = [...base.tokens];
  const tokenTypes = [...base.tokenTypes];
  // " q<base 36>" in GPT-2's byte alphabet ("Ġ" is the space): readable ASCII, and no merge of the base forms it.
  const taken = new Set(tokens);
  for (let i = 0; tokens.length < vocabSize; i++) {
    const token = `Ġq${i.toString(36)}`;
    if (taken.has(token)) continue;
    tokens.push(token);
    tokenTypes.push(TOKEN_TYPE.normal);
  }
  return { ...base, tokens, tokenTypes };
}
