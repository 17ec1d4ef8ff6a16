/**
 * The operations the LoRA optimizers need on tall factor-sized matrices (m x r), so one
 * implementation of each algorithm runs on float32 tfjs tensors in training and on float64
 * arrays in tests. r x r results come back as float64 `Small` matrices.
 */
import type { Small } from "./small.ts";

export interface Linalg<M> {
  /** Relative size below which an eigenvalue of a Gram matrix counts as zero (the precision of M). */
  readonly rankTolerance: number;
  shape(x: M): [number, number];
  zeros(rows: number, cols: number): M;
  /** xᵀ y */
  cross(x: M, y: M): Small;
  /** x s */
  times(x: M, s: Small): M;
  /** a x + b y */
  combine(a: number, x: M, b: number, y: M): M;
  sumOfSquares(x: M): number;
  /** Elementwise x ⊙ y, x / (√y + eps): what Adam needs. */
  multiply(x: M, y: M): M;
  divideBySqrt(x: M, y: M, eps: number): M;
  /**
   * Runs one optimizer step, keeping what `keep` lists (new state and factors) and freeing
   * everything else the step allocated; `free` releases superseded state.
   */
  scope<T>(step: () => T, keep: (result: T) => M[]): T;
  free(x: M): void;
}
