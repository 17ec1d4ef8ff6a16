/**
 * Model weights as tfjs tensors. Projection matrices (and the output head) are kept as
 * [in, out], so a projection is x @ W: the wasm backend's transposed matmuls are ~10x
 * slower. GGUF stores them as W[out][in] (ggml shape [in, out]); I/O transposes. The
 * token embedding is a lookup table [vocab, dim] in both.
 */
import { tf } from "../tfjs/backend.ts";
import { headDim, type LlamaConfig } from "./config.ts";
import { createRandom } from "../random.ts";

export const PROJECTIONS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] as const;
export type ProjectionName = (typeof PROJECTIONS)[number];

export interface LayerWeights {
  attn_norm: tf.Tensor1D;
  ffn_norm: tf.Tensor1D;
  attn_q: tf.Tensor2D;
  attn_k: tf.Tensor2D;
  attn_v: tf.Tensor2D;
  attn_output: tf.Tensor2D;
  ffn_gate: tf.Tensor2D;
  ffn_up: tf.Tensor2D;
  ffn_down: tf.Tensor2D;
}

export interface LlamaWeights {
  token_embd: tf.Tensor2D;
  layers: LayerWeights[];
  output_norm: tf.Tensor1D;
  output: tf.Tensor2D;
}

/** [in, out] shape of each projection. */
export function projectionShape(config: LlamaConfig, name: ProjectionName): [number, number] {
  const kvDim = headDim(config) * config.kvHeads;
  switch (name) {
    case "attn_q":
    case "attn_output":
      return [config.dim, config.dim];
    case "attn_k":
    case "attn_v":
      return [config.dim, kvDim];
    case "ffn_gate":
    case "ffn_up":
      return [config.dim, config.ffnDim];
    case "ffn_down":
      return [config.ffnDim, config.dim];
  }
}

/** GPT-2 style init: N(0, 0.02), residual output projections scaled by 1/sqrt(2 * layers). */
export function initWeights(config: LlamaConfig, seed: number): LlamaWeights {
  const random = createRandom(seed);
  const normal = (shape: [number, number], std: number): tf.Tensor2D => {
    const values = new Float32Array(shape[0] * shape[1]);
    for (let i = 0; i < values.length; i++) values[i] = random.normal() * std;
    return tf.tensor2d(values, shape);
  };
  const residualStd = 0.02 / Math.sqrt(2 * config.layers);
  const layers: LayerWeights[] = [];
  for (let l = 0; l < config.layers; l++) {
    layers.push({
      attn_norm: tf.ones([config.dim]),
      ffn_norm: tf.ones([config.dim]),
      attn_q: normal(projectionShape(config, "attn_q"), 0.02),
      attn_k: normal(projectionShape(config, "attn_k"), 0.02),
      attn_v: normal(projectionShape(config, "attn_v"), 0.02),
      attn_output: normal(projectionShape(config, "attn_output"), residualStd),
      ffn_gate: normal(projectionShape(config, "ffn_gate"), 0.02),
      ffn_up: normal(projectionShape(config, "ffn_up"), 0.02),
      ffn_down: normal(projectionShape(config, "ffn_down"), residualStd),
    });
  }
  return {
    token_embd: normal([config.vocabSize, config.dim], 0.02),
    layers,
    output_norm: tf.ones([config.dim]),
    output: normal([config.dim, config.vocabSize], 0.02),
  };
}

/** Every tensor with its GGUF name, in llama.cpp's naming. */
export function namedTensors(weights: LlamaWeights): [string, tf.Tensor][] {
  const named: [string, tf.Tensor][] = [["token_embd.weight", weights.token_embd]];
  weights.layers.forEach((layer, i) => {
    for (const [key, tensor] of Object.entries(layer)) named.push([`blk.${i}.${key}.weight`, tensor]);
  });
  named.push(["output_norm.weight", weights.output_norm], ["output.weight", weights.output]);
  return named;
}

/** Whether a named tensor is an [in, out] projection (transposed at GGUF I/O). */
export function isProjection(name: string): boolean {
  return name === "output.weight" || PROJECTIONS.some((p) => name.endsWith(`.${p}.weight`));
}

export function disposeWeights(weights: LlamaWeights): void {
  for (const [, tensor] of namedTensors(weights)) tensor.dispose();
}
