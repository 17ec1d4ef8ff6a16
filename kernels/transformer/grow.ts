/**
 * Function-preserving growth of a trained model: new layers whose output projections
 * (attn_output, ffn_down) are zero add nothing to the residual stream, and extra FFN
 * units whose ffn_down rows are zero add nothing to the FFN's output. The grown model
 * computes exactly what the original computed, then trains on from there.
 */
import { tf } from "../tfjs/backend.ts";
import { createRandom } from "../random.ts";
import type { LlamaConfig } from "./config.ts";
import { initWeights, type LayerWeights, type LlamaWeights } from "./weights.ts";

export interface GrowthPlan {
  layers: number;
  ffnDim: number;
}

function widenFfn(layer: LayerWeights, ffnDim: number, seed: number): LayerWeights {
  const [dim, oldFfn] = layer.ffn_gate.shape;
  const extra = ffnDim - oldFfn;
  if (extra === 0) return cloneLayer(layer);
  const random = createRandom(seed);
  const fresh = (): tf.Tensor2D => tf.tensor2d(Float32Array.from({ length: dim * extra }, () => random.normal() * 0.02), [dim, extra]);
  return {
    ...cloneLayer(layer),
    ffn_gate: tf.concat([layer.ffn_gate, fresh()], 1),
    ffn_up: tf.concat([layer.ffn_up, fresh()], 1),
    ffn_down: tf.concat([layer.ffn_down, tf.zeros([extra, dim])], 0),
  };
}

function cloneLayer(layer: LayerWeights): LayerWeights {
  return Object.fromEntries(Object.entries(layer).map(([k, t]) => [k, tf.clone(t)])) as unknown as LayerWeights;
}

/** New layers are spread evenly: after base layer i come floor((i+1)n/L) - floor(in/L) of them. */
export function growModel(config: LlamaConfig, weights: LlamaWeights, plan: GrowthPlan, seed: number): { config: LlamaConfig; weights: LlamaWeights; newLayers: number[] } {
  if (plan.layers < config.layers || plan.ffnDim < config.ffnDim) throw new Error("growth cannot shrink a model");
  const grown: LlamaConfig = { ...config, layers: plan.layers, ffnDim: plan.ffnDim };
  const added = plan.layers - config.layers;
  const fresh = initWeights(grown, seed);
  const layers: LayerWeights[] = [];
  const newLayers: number[] = [];
  let freshIndex = 0;
  for (let i = 0; i < config.layers; i++) {
    layers.push(widenFfn(weights.layers[i]!, plan.ffnDim, seed + 1 + i));
    const count = Math.floor(((i + 1) * added) / config.layers) - Math.floor((i * added) / config.layers);
    for (let j = 0; j < count; j++) {
      const layer = fresh.layers[freshIndex++]!;
      const silent = { ...layer, attn_output: tf.zerosLike(layer.attn_output), ffn_down: tf.zerosLike(layer.ffn_down) };
      layer.attn_output.dispose();
      layer.ffn_down.dispose();
      newLayers.push(layers.length);
      layers.push(silent);
    }
  }
  for (const unused of fresh.layers.slice(freshIndex)) Object.values(unused).forEach((t) => t.dispose());
  fresh.token_embd.dispose();
  fresh.output.dispose();
  fresh.output_norm.dispose();
  return {
    config: grown,
    weights: { token_embd: tf.clone(weights.token_embd), layers, output_norm: tf.clone(weights.output_norm), output: tf.clone(weights.output) },
    newLayers,
  };
}
