/**
 * Random LoRA adapters for tests and demos. Unlike a fresh PEFT adapter (B = 0, no
 * effect) both factors are random, so applying one changes the logits and an
 * equivalence test against llama.cpp can fail. Magnitudes are set on the effective
 * update: A ~ N(0, 1/in) keeps x·Aᵀ at the RMS of x, and B is scaled so the delta's
 * RMS is `magnitude` times the RMS of the projection's input, whatever alpha and rank.
 */
import type { LlamaConfig } from "../transformer/config.ts";
import { PROJECTIONS, projectionShape, type ProjectionName } from "../transformer/weights.ts";
import { createRandom } from "../random.ts";
import { effectiveScale } from "./format.ts";
import { assertConsistent, type LoraAdapter, type LoraWeight } from "./types.ts";

export interface RandomAdapterOptions {
  rank: number;
  /** Default: 2 · rank (an effective scale of 2, as PEFT's common alpha = 16 at rank 8). */
  alpha?: number;
  seed?: number;
  /** Projections to adapt in every layer; default: all seven. */
  targets?: readonly ProjectionName[];
  /** Delta RMS relative to the input RMS; default 0.1. */
  magnitude?: number;
  name?: string;
}

export const DEFAULT_RANDOM_MAGNITUDE = 0.1;

export function randomLoraAdapter(config: LlamaConfig, options: RandomAdapterOptions): LoraAdapter {
  const { rank, seed = 0, targets = PROJECTIONS, magnitude = DEFAULT_RANDOM_MAGNITUDE } = options;
  const alpha = options.alpha ?? 2 * rank;
  if (!Number.isInteger(rank) || rank < 1) throw new Error(`rank must be a positive integer, got ${rank}`);
  if (!(Number.isFinite(magnitude) && magnitude > 0)) throw new Error(`magnitude must be a positive number, got ${magnitude}`);
  if (new Set(targets).size !== targets.length || targets.length === 0) throw new Error(`targets must be distinct and non-empty, got ${targets.join(",")}`);
  const random = createRandom(seed);
  const gaussian = (n: number, std: number): Float32Array => Float32Array.from({ length: n }, () => random.normal() * std);
  const bStd = magnitude / (effectiveScale(alpha, rank) * Math.sqrt(rank));
  const weights: LoraWeight[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    for (const projection of targets) {
      const [inDim, outDim] = projectionShape(config, projection);
      weights.push({ layer, projection, inDim, outDim, a: gaussian(rank * inDim, 1 / Math.sqrt(inDim)), b: gaussian(outDim * rank, bStd) });
    }
  }
  const adapter: LoraAdapter = { architecture: "llama", name: options.name ?? `random-r${rank}-s${seed}`, rank, alpha, weights };
  assertConsistent(adapter);
  return adapter;
}
