/**
 * One interface for the optimizers of LoRA pairs. A pair is written as in the LoRA-RITE
 * paper: Z = left · rightᵀ with left m x r and right n x r (for llama.cpp's ΔW = B·A,
 * left = B [out, r] and right = Aᵀ [in, r]). An optimizer sees whole pairs because
 * LoRA-RITE's step for one factor depends on the other.
 */
export interface FactorPair<M> {
  left: M;
  right: M;
}

export interface LoraOptimizer<M> {
  readonly name: OptimizerName;
  /**
   * One step for every pair (in the same order each call): returns the new factors. The
   * inputs are not changed; the caller frees them when it no longer needs them.
   */
  step(factors: readonly FactorPair<M>[], grads: readonly FactorPair<M>[], learningRate: number): FactorPair<M>[];
  /** Frees the optimizer's state. */
  dispose(): void;
}

export type OptimizerName = "rite" | "adam";

export interface OptimizerOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (applied as lr · wd · x). */
  weightDecay?: number;
}
