/** A LoRA adapter in memory. Shapes follow PEFT and the GGUF bytes (see format.ts). */
import type { ProjectionName } from "../transformer/weights.ts";

/** One adapted projection: Δy = s · (x·Aᵀ)·Bᵀ for x of shape [N, inDim]. */
export interface LoraWeight {
  layer: number;
  projection: ProjectionName;
  inDim: number;
  outDim: number;
  /** Row-major [rank, inDim] (ggml shape [inDim, rank]). */
  a: Float32Array;
  /** Row-major [outDim, rank] (ggml shape [rank, outDim]). */
  b: Float32Array;
}

export interface LoraAdapter {
  /** The base model's general.architecture. */
  architecture: string;
  name: string;
  rank: number;
  /** adapter.lora.alpha; the delta is scaled by adapterScale · alpha / rank. */
  alpha: number;
  weights: LoraWeight[];
}

/** Throws on an adapter whose arrays do not match its declared shapes (a programming error). */
export function assertConsistent(adapter: LoraAdapter): void {
  const { rank, alpha } = adapter;
  if (!Number.isInteger(rank) || rank < 1) throw new Error(`LoRA rank must be a positive integer, got ${rank}`);
  if (!(Number.isFinite(alpha) && alpha > 0)) throw new Error(`LoRA alpha must be a positive number, got ${alpha}`);
  if (adapter.weights.length === 0) throw new Error("a LoRA adapter needs at least one adapted projection");
  const seen = new Set<string>();
  for (const w of adapter.weights) {
    const key = `${w.layer}.${w.projection}`;
    if (seen.has(key)) throw new Error(`LoRA weight for layer ${w.layer} ${w.projection} appears twice`);
    seen.add(key);
    if (w.a.length !== rank * w.inDim) throw new Error(`LoRA A for ${key} has ${w.a.length} values, expected ${rank}x${w.inDim}`);
    if (w.b.length !== w.outDim * rank) throw new Error(`LoRA B for ${key} has ${w.b.length} values, expected ${w.outDim}x${rank}`);
  }
}
