/**
 * LoRA optimizers (kernels/rite/). The property LoRA-RITE exists for: its trajectory of
 * Z = A Bᵀ does not depend on how the factors are scaled or rotated (A R, B R⁻ᵀ with an
 * ill-conditioned R), in float64 to ~1e-10, while Adam's does (the negative control). The
 * float32 tfjs implementation follows the float64 reference.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createRandom } from "../kernels/random.ts";
import { biasCorrectedDecay } from "../kernels/rite/rite.ts";
import { createOptimizer, float64, matrix, outer, tfjsLinalg, type FactorPair, type Matrix, type OptimizerName, type RiteOptions } from "../kernels/rite/index.ts";
import { symmetricEigen, smallSpectral } from "../kernels/rite/small.ts";
import { multiply } from "../kernels/rite/float64.ts";
import { initBackend, tf } from "../kernels/tfjs/backend.ts";

const random = createRandom(20261201);
const gaussian = (rows: number, cols: number, std = 1): Matrix => matrix(rows, cols, Array.from({ length: rows * cols }, () => random.normal() * std));

/** Orthonormal columns by Gram-Schmidt. */
function orthogonal(n: number): Matrix {
  const q = gaussian(n, n);
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += q.data[i * n + j]! * q.data[i * n + k]!;
      for (let i = 0; i < n; i++) q.data[i * n + j]! -= dot * q.data[i * n + k]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q.data[i * n + j]! ** 2;
    for (let i = 0; i < n; i++) q.data[i * n + j]! /= Math.sqrt(norm);
  }
  return q;
}

function transpose(x: Matrix): Matrix {
  const out = matrix(x.cols, x.rows);
  for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.cols; j++) out.data[j * x.rows + i] = x.data[i * x.cols + j]!;
  return out;
}

function diagonal(values: number[]): Matrix {
  const out = matrix(values.length, values.length);
  values.forEach((value, i) => (out.data[i * values.length + i] = value));
  return out;
}

/** R = Q1 diag(s) Q2ᵀ with condition number max(s)/min(s), and R⁻ᵀ = Q1 diag(1/s) Q2ᵀ. */
function illConditioned(singular: number[]): { r: Matrix; inverseTranspose: Matrix } {
  const q1 = orthogonal(singular.length);
  const q2t = transpose(orthogonal(singular.length));
  return {
    r: multiply(multiply(q1, diagonal(singular)), q2t),
    inverseTranspose: multiply(multiply(q1, diagonal(singular.map((s) => 1 / s))), q2t),
  };
}

function relativeDifference(x: Matrix, y: Matrix): number {
  let diff = 0;
  let norm = 0;
  x.data.forEach((value, i) => {
    diff += (value - y.data[i]!) ** 2;
    norm += value ** 2;
  });
  return Math.sqrt(diff / norm);
}

/** Gradients of ½‖A Bᵀ - T‖²: ∇Z = Z - T, ∇A = ∇Z B, ∇B = ∇Zᵀ A. */
function quadraticGrads(pair: FactorPair<Matrix>, target: Matrix): FactorPair<Matrix> {
  const gradZ = float64.combine(1, outer(pair.left, pair.right), -1, target);
  return { left: matMul(gradZ, pair.right), right: matMul(transpose(gradZ), pair.left) };
}

function matMul(x: Matrix, y: Matrix): Matrix {
  const out = matrix(x.rows, y.cols);
  for (let i = 0; i < x.rows; i++) for (let k = 0; k < x.cols; k++) for (let j = 0; j < y.cols; j++) out.data[i * y.cols + j]! += x.data[i * x.cols + k]! * y.data[k * y.cols + j]!;
  return out;
}

/** Z after each of `steps` steps from `start` on the quadratic toward `target`. */
function trajectory(name: OptimizerName, start: FactorPair<Matrix>, target: Matrix, steps: number, learningRate: number, options: RiteOptions = {}): Matrix[] {
  const optimizer = createOptimizer(name, float64, options);
  let pair = start;
  const zs: Matrix[] = [];
  for (let step = 0; step < steps; step++) {
    [pair] = optimizer.step([pair], [quadraticGrads(pair, target)], learningRate) as [FactorPair<Matrix>];
    zs.push(outer(pair.left, pair.right));
  }
  return zs;
}

const M = 12;
const N = 10;
const RANK = 4;
const STEPS = 12;
const { r: R, inverseTranspose: R_INV_T } = illConditioned([1, 8, 150, 2000]);
const target = gaussian(M, N);

function transformed(pair: FactorPair<Matrix>): FactorPair<Matrix> {
  return { left: multiply(pair.left, R), right: multiply(pair.right, R_INV_T) };
}

function worstDivergence(name: OptimizerName, start: FactorPair<Matrix>, options: RiteOptions = {}): number {
  const original = trajectory(name, start, target, STEPS, 0.02, options);
  const moved = trajectory(name, transformed(start), target, STEPS, 0.02, options);
  return Math.max(...original.map((z, i) => relativeDifference(z, moved[i]!)));
}

describe("LoRA-RITE invariance (float64)", () => {
  it("the transform is exact and ill-conditioned (the test can fail)", () => {
    const start = { left: gaussian(M, RANK), right: gaussian(N, RANK) };
    const error = relativeDifference(outer(start.left, start.right), outer(transformed(start).left, transformed(start).right));
    assert.ok(error < 1e-10, `A R (B R⁻ᵀ)ᵀ differs from A Bᵀ by ${error}`);
    const singular = symmetricEigen(float64.cross(R, R)).values.map(Math.sqrt);
    assert.ok(singular[0]! / singular[RANK - 1]! > 1000);
  });

  it("follows the same Z trajectory under A R, B R⁻ᵀ to ~1e-10", () => {
    const start = { left: gaussian(M, RANK, 0.5), right: gaussian(N, RANK, 0.5) };
    const divergence = worstDivergence("rite", start);
    assert.ok(divergence < 1e-9, `RITE diverged by ${divergence}`);
  });

  it("stays invariant with the escaped mass off and weight decay 0 (the reference code's setting)", () => {
    const start = { left: gaussian(M, RANK, 0.5), right: gaussian(N, RANK, 0.5) };
    assert.ok(worstDivergence("rite", start, { escapedMass: false }) < 1e-9);
  });

  it("stays invariant from the cold start (one factor zero) and moves the zero factor at step 1", () => {
    const start = { left: matrix(M, RANK), right: gaussian(N, RANK, 0.5) };
    assert.ok(worstDivergence("rite", start) < 1e-9);
    const [first] = createOptimizer("rite", float64).step([start], [quadraticGrads(start, target)], 0.02);
    assert.ok(float64.sumOfSquares(first!.left) > 0, "the zero factor did not move");
    assert.equal(float64.sumOfSquares(float64.combine(1, first!.right, -1, start.right)), 0, "∇B = ∇Zᵀ·0 must leave B alone at step 1");
  });

  it("Adam is not invariant: the same check fails by orders of magnitude", () => {
    const start = { left: gaussian(M, RANK, 0.5), right: gaussian(N, RANK, 0.5) };
    const divergence = worstDivergence("adam", start);
    assert.ok(divergence > 1e-3, `Adam diverged by only ${divergence}`);
  });

  it("both optimizers reduce the quadratic loss", () => {
    for (const name of ["rite", "adam"] as const) {
      const start = { left: matrix(M, RANK), right: gaussian(N, RANK, 0.5) };
      const zs = trajectory(name, start, target, 60, 0.05);
      const loss = (z: Matrix): number => float64.sumOfSquares(float64.combine(1, z, -1, target));
      assert.ok(loss(zs.at(-1)!) < 0.8 * float64.sumOfSquares(target), `${name}: ${loss(zs.at(-1)!)}`);
    }
  });
});

describe("LoRA-RITE pieces", () => {
  it("bias-corrected decay is 0 at the first step and tends to β", () => {
    assert.equal(biasCorrectedDecay(0.9, 1), 0);
    assert.ok(Math.abs(biasCorrectedDecay(0.9, 2) - 0.9 * 0.1 / 0.19) < 1e-15);
    assert.ok(Math.abs(biasCorrectedDecay(0.9, 500) - 0.9) < 1e-12);
  });

  it("the Jacobi eigendecomposition reconstructs ill-conditioned symmetric matrices", () => {
    const gram = float64.cross(R, R);
    const eigen = symmetricEigen(gram);
    const rebuilt = smallSpectral(eigen, (lambda) => lambda);
    const error = Math.max(...rebuilt.data.map((value, i) => Math.abs(value - gram.data[i]!)));
    assert.ok(error < 1e-12 * eigen.values[0]!);
    assert.ok(eigen.values.every((value, i) => i === 0 || value <= eigen.values[i - 1]!));
  });
});

describe("float32 tfjs against the float64 reference", () => {
  before(async () => {
    await initBackend();
  });

  for (const name of ["rite", "adam"] as const) {
    it(`${name}: the same factors after 8 steps (to float32 accuracy)`, () => {
      const m = 48;
      const n = 32;
      const rank = 4;
      const start = { left: gaussian(m, rank, 0.1), right: gaussian(n, rank, 0.3) };
      const goal = gaussian(m, n, 0.2);
      const reference = createOptimizer(name, float64);
      const single = createOptimizer(name, tfjsLinalg);
      const toTensor = (x: Matrix): tf.Tensor2D => tf.tensor2d(Float32Array.from(x.data), [x.rows, x.cols]);
      let pair64 = start;
      let pair32 = { left: toTensor(start.left), right: toTensor(start.right) };
      const before = tf.memory().numTensors;
      for (let step = 0; step < 8; step++) {
        const grads = quadraticGrads(pair64, goal);
        [pair64] = reference.step([pair64], [grads], 0.01) as [FactorPair<Matrix>];
        // The same float64 gradient for both, so the comparison isolates the optimizer.
        const grads32 = { left: toTensor(grads.left), right: toTensor(grads.right) };
        const [next] = single.step([pair32], [grads32], 0.01);
        tf.dispose([grads32.left, grads32.right, pair32.left, pair32.right]);
        pair32 = next!;
      }
      const left = matrix(m, rank, pair32.left.dataSync());
      const right = matrix(n, rank, pair32.right.dataSync());
      const difference = relativeDifference(outer(pair64.left, pair64.right), outer(left, right));
      assert.ok(difference < 1e-4, `${name}: float32 vs float64 ${difference}`);
      tf.dispose([pair32.left, pair32.right]);
      single.dispose();
      assert.ok(tf.memory().numTensors <= before - 2, `tensors leaked: ${tf.memory().numTensors} vs ${before}`);
    });
  }
});
