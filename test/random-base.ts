/**
 * Random-weight llama bases in any type we encode, written on the fly. Every matrix is in the
 * chosen type (norms F32, as llama.cpp wants). Each tensor repeats one random tile of TILE
 * elements, so a base of hundreds of megabytes is written in a moment; the weights are still
 * random enough that an adapter visibly changes the output.
 */
import { encodeTensor } from "../kernels/gguf/quant.ts";
import { tensorByteSize, TensorType, type GgufTensor } from "../kernels/gguf/types.ts";
import { writeGgufFile } from "../kernels/gguf/writer.ts";
import { createRandom, type Random } from "../kernels/random.ts";
import { tokenizerMetadata, type TokenizerSpec } from "../kernels/tokenizer/gguf-tokenizer.ts";
import type { LlamaConfig } from "../kernels/transformer/config.ts";
import { llamaMetadata } from "../kernels/transformer/gguf-model.ts";
import { PROJECTIONS, projectionShape } from "../kernels/transformer/weights.ts";

const TILE = 1 << 18;

function randomMatrix(name: string, inDim: number, outDim: number, type: TensorType, random: Random): GgufTensor {
  const elements = inDim * outDim;
  const std = 1 / Math.sqrt(inDim);
  const tile = encodeTensor(type, Float32Array.from({ length: Math.min(elements, TILE) }, () => random.normal() * std));
  const data = new Uint8Array(tensorByteSize(type, elements));
  for (let offset = 0; offset < data.byteLength; offset += tile.byteLength) data.set(tile.subarray(0, data.byteLength - offset), offset);
  return { name, shape: [inDim, outDim], type, data };
}

function ones(name: string, dim: number): GgufTensor {
  return { name, shape: [dim], type: TensorType.F32, data: encodeTensor(TensorType.F32, new Float32Array(dim).fill(1)) };
}

export function writeRandomBase(path: string, config: LlamaConfig, tokenizer: TokenizerSpec, type: TensorType, seed: number): void {
  const random = createRandom(seed);
  const tensors: GgufTensor[] = [randomMatrix("token_embd.weight", config.dim, config.vocabSize, type, random)];
  for (let layer = 0; layer < config.layers; layer++) {
    tensors.push(ones(`blk.${layer}.attn_norm.weight`, config.dim), ones(`blk.${layer}.ffn_norm.weight`, config.dim));
    for (const projection of PROJECTIONS) {
      const [inDim, outDim] = projectionShape(config, projection);
      tensors.push(randomMatrix(`blk.${layer}.${projection}.weight`, inDim, outDim, type, random));
    }
  }
  tensors.push(ones("output_norm.weight", config.dim), randomMatrix("output.weight", config.dim, config.vocabSize, type, random));
  writeGgufFile(path, { ...llamaMetadata(config, `random-${TensorType[type]}`, type), ...tokenizerMetadata(tokenizer) }, tensors);
}
