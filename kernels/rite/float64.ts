/** The float64 reference for the optimizers: plain row-major arrays, no tfjs. */
import type { Linalg } from "./linalg.ts";
import { smallZeros, type Small } from "./small.ts";

export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function matrix(rows: number, cols: number, data: ArrayLike<number> = new Float64Array(rows * cols)): Matrix {
  if (data.length !== rows * cols) throw new Error(`a ${rows}x${cols} matrix needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data: Float64Array.from(data) };
}

/** x yᵀ: the LoRA product Z = A Bᵀ in tests. */
export function outer(x: Matrix, y: Matrix): Matrix {
  const out = matrix(x.rows, y.rows);
  for (let i = 0; i < x.rows; i++) {
    for (let j = 0; j < y.rows; j++) {
      let sum = 0;
      for (let k = 0; k < x.cols; k++) sum += x.data[i * x.cols + k]! * y.data[j * y.cols + k]!;
      out.data[i * y.rows + j] = sum;
    }
  }
  return out;
}

/** x s for a square s given as a Matrix (tests build transforms with it). */
export function multiply(x: Matrix, s: Matrix): Matrix {
  return float64.times(x, { n: s.rows, data: s.data });
}

export const float64: Linalg<Matrix> = {
  rankTolerance: 1e-13,
  shape: (x) => [x.rows, x.cols],
  zeros: (rows, cols) => matrix(rows, cols),
  cross(x, y) {
    const out = smallZeros(x.cols);
    for (let row = 0; row < x.rows; row++) {
      for (let i = 0; i < x.cols; i++) {
        const xi = x.data[row * x.cols + i]!;
        if (xi === 0) continue;
        for (let j = 0; j < y.cols; j++) out.data[i * y.cols + j]! += xi * y.data[row * y.cols + j]!;
      }
    }
    return out;
  },
  times(x, s: Small) {
    const out = matrix(x.rows, s.n);
    for (let row = 0; row < x.rows; row++) {
      for (let k = 0; k < x.cols; k++) {
        const xk = x.data[row * x.cols + k]!;
        if (xk === 0) continue;
        for (let j = 0; j < s.n; j++) out.data[row * s.n + j]! += xk * s.data[k * s.n + j]!;
      }
    }
    return out;
  },
  combine: (a, x, b, y) => ({ rows: x.rows, cols: x.cols, data: x.data.map((value, i) => a * value + b * y.data[i]!) }),
  sumOfSquares: (x) => x.data.reduce((sum, value) => sum + value * value, 0),
  multiply: (x, y) => ({ rows: x.rows, cols: x.cols, data: x.data.map((value, i) => value * y.data[i]!) }),
  divideBySqrt: (x, y, eps) => ({ rows: x.rows, cols: x.cols, data: x.data.map((value, i) => value / (Math.sqrt(y.data[i]!) + eps)) }),
  scope: (step) => step(),
  free: () => undefined,
};
