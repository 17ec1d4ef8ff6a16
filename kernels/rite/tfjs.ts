/** The optimizers on tfjs: factor-sized work in float32 tensors, r x r work in float64 JS. */
import { tf } from "../tfjs/backend.ts";
import type { Linalg } from "./linalg.ts";
import type { Small } from "./small.ts";

function toSmall(t: tf.Tensor2D): Small {
  const n = t.shape[0];
  return { n, data: Float64Array.from(t.dataSync()) };
}

function fromSmall(s: Small): tf.Tensor2D {
  return tf.tensor2d(Float32Array.from(s.data), [s.n, s.n]);
}

export const tfjsLinalg: Linalg<tf.Tensor2D> = {
  // float32's epsilon is ~1.2e-7; a Gram matrix squares the factor's condition number.
  rankTolerance: 1e-6,
  shape: (x) => [x.shape[0], x.shape[1]],
  zeros: (rows, cols) => tf.zeros([rows, cols]),
  cross(x, y) {
    const product = tf.tidy(() => tf.matMul(tf.transpose(x), y));
    const small = toSmall(product as tf.Tensor2D);
    product.dispose();
    return small;
  },
  times: (x, s) => tf.matMul(x, fromSmall(s)),
  combine: (a, x, b, y) => tf.add(tf.mul(x, a), tf.mul(y, b)),
  sumOfSquares(x) {
    const sum = tf.tidy(() => tf.sum(tf.square(x)));
    const value = sum.dataSync()[0]!;
    sum.dispose();
    return value;
  },
  multiply: (x, y) => tf.mul(x, y),
  divideBySqrt: (x, y, eps) => tf.div(x, tf.add(tf.sqrt(y), eps)),
  scope<T>(step: () => T, keep: (result: T) => tf.Tensor2D[]): T {
    let result: T | undefined;
    tf.tidy(() => {
      result = step();
      for (const tensor of keep(result)) tf.keep(tensor);
    });
    return result!;
  },
  free: (x) => x.dispose(),
};
