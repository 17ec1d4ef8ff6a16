/**
 * A LoRA adapter as the transformer's `ProjectionDelta`: for x of shape [N, in],
 * Δ = s · (x·Aᵀ)·Bᵀ with s = effectiveScale(alpha, rank, adapterScale), exactly the term
 * llama.cpp's build_lora_mm adds. Aᵀ ([in, rank]) and s·Bᵀ ([rank, out]) are built once,
 * so each call is two plain x @ W matmuls (the fast orientation on wasm).
 */
import { tf } from "../tfjs/backend.ts";
import { linear, type ProjectionDelta } from "../transformer/forward.ts";
import { effectiveScale } from "./format.ts";
import type { LoraAdapter } from "./types.ts";

/** A ProjectionDelta holding tfjs tensors: call dispose() when done with it. */
export type LoraProjectionDelta = ProjectionDelta & { dispose(): void };

export function projectionDelta(adapter: LoraAdapter, adapterScale = 1): LoraProjectionDelta {
  const scale = effectiveScale(adapter.alpha, adapter.rank, adapterScale);
  const factors = new Map<string, { aT: tf.Tensor2D; scaledBT: tf.Tensor2D }>();
  for (const w of adapter.weights) {
    factors.set(`${w.layer}.${w.projection}`, {
      aT: tf.tidy(() => tf.transpose(tf.tensor2d(w.a, [adapter.rank, w.inDim]))),
      scaledBT: tf.tidy(() => tf.mul(tf.transpose(tf.tensor2d(w.b, [w.outDim, adapter.rank])), scale)),
    });
  }
  const delta: ProjectionDelta = (layer, name, x) => {
    const factor = factors.get(`${layer}.${name}`);
    return factor && linear(linear(x, factor.aT), factor.scaledBT);
  };
  return Object.assign(delta, {
    dispose(): void {
      for (const { aT, scaledBT } of factors.values()) tf.dispose([aT, scaledBT]);
      factors.clear();
    },
  });
}
