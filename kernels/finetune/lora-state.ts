/**
 * Trainable LoRA factors for the chosen projections of every layer, as tfjs variables in
 * the paper's orientation (Z = left · rightᵀ): right = Aᵀ [in, r], left = B [out, r], so
 * the delta of x [N, in] is s · dropout(x) · right · leftᵀ, two plain matmuls. PEFT's
 * init: A uniform in ±1/√in (kaiming-uniform with a = √5), B zero, so training starts at
 * the base model.
 */
import { tf } from "../tfjs/backend.ts";
import { createRandom, type Random } from "../random.ts";
import { effectiveScale } from "../lora/format.ts";
import type { LoraAdapter, LoraWeight } from "../lora/types.ts";
import type { LlamaConfig } from "../transformer/config.ts";
import { linear, type ProjectionDelta } from "../transformer/forward.ts";
import { projectionShape, type ProjectionName } from "../transformer/weights.ts";
import type { FactorPair } from "../rite/optimizer.ts";

export interface LoraShape {
  rank: number;
  alpha: number;
  targets: readonly ProjectionName[];
}

interface Slot {
  layer: number;
  projection: ProjectionName;
  inDim: number;
  outDim: number;
  left: tf.Variable<tf.Rank.R2>;
  right: tf.Variable<tf.Rank.R2>;
}

export class LoraState {
  private readonly slots: Slot[] = [];
  readonly scale: number;

  constructor(
    config: LlamaConfig,
    readonly shape: LoraShape,
    seed: number,
  ) {
    this.scale = effectiveScale(shape.alpha, shape.rank);
    const random = createRandom(seed);
    for (let layer = 0; layer < config.layers; layer++) {
      for (const projection of shape.targets) {
        const [inDim, outDim] = projectionShape(config, projection);
        const bound = 1 / Math.sqrt(inDim);
        const right = Float32Array.from({ length: inDim * shape.rank }, () => (2 * random.next() - 1) * bound);
        this.slots.push({
          layer,
          projection,
          inDim,
          outDim,
          // Variables outlive tidy; their initial tensors do not.
          left: tf.tidy(() => tf.variable(tf.zeros<tf.Rank.R2>([outDim, shape.rank]), true)),
          right: tf.tidy(() => tf.variable(tf.tensor2d(right, [inDim, shape.rank]), true)),
        });
      }
    }
  }

  get variables(): tf.Variable[] {
    return this.slots.flatMap((slot) => [slot.left, slot.right]);
  }

  get factors(): FactorPair<tf.Tensor2D>[] {
    return this.slots.map((slot) => ({ left: slot.left, right: slot.right }));
  }

  /** The gradients variableGrads returned, in the order of `factors`. */
  pairGrads(grads: tf.NamedTensorMap): FactorPair<tf.Tensor2D>[] {
    return this.slots.map((slot) => ({ left: grads[slot.left.name] as tf.Tensor2D, right: grads[slot.right.name] as tf.Tensor2D }));
  }

  assign(next: readonly FactorPair<tf.Tensor2D>[]): void {
    next.forEach((pair, i) => {
      this.slots[i]!.left.assign(pair.left);
      this.slots[i]!.right.assign(pair.right);
      tf.dispose([pair.left, pair.right]);
    });
  }

  /** The delta for the forward pass; with dropout > 0, each call draws a fresh seeded mask on x. */
  delta(dropout = 0, random?: Random): ProjectionDelta {
    const bySlot = new Map(this.slots.map((slot) => [`${slot.layer}.${slot.projection}`, slot]));
    return (layer, name, x) => {
      const slot = bySlot.get(`${layer}.${name}`);
      if (slot === undefined) return undefined;
      const input = dropout > 0 && random !== undefined ? tf.mul(x, dropoutMask(x.shape, dropout, random)) : x;
      return tf.mul(linear(linear(input as tf.Tensor2D, slot.right), tf.transpose(slot.left)), this.scale) as tf.Tensor2D;
    };
  }

  /** A copy of the current factors as llama.cpp's A [r, in] and B [out, r]. */
  snapshot(name: string): LoraAdapter {
    const weights: LoraWeight[] = this.slots.map((slot) => ({
      layer: slot.layer,
      projection: slot.projection,
      inDim: slot.inDim,
      outDim: slot.outDim,
      a: tf.tidy(() => tf.transpose(slot.right).dataSync() as Float32Array).slice(),
      b: (slot.left.dataSync() as Float32Array).slice(),
    }));
    return { architecture: "llama", name, rank: this.shape.rank, alpha: this.shape.alpha, weights };
  }

  dispose(): void {
    for (const slot of this.slots) tf.dispose([slot.left, slot.right]);
    this.slots.length = 0;
  }
}

/** Inverted dropout: kept entries scaled by 1 / (1 - p), so the expected delta is unchanged. */
function dropoutMask(shape: number[], rate: number, random: Random): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const keep = 1 / (1 - rate);
  return tf.tensor(Float32Array.from({ length: size }, () => (random.next() < rate ? 0 : keep)), shape);
}
