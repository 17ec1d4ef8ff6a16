/**
 * Next-token cross-entropy averaged over the reply tokens only: prompt and padding
 * positions carry weight 0. The gradient (softmax - onehot) · w / Σw is written out, as
 * transformer/forward.ts's crossEntropy does (tfjs's logSumExp gradient is slow on wasm).
 */
import { tf } from "../tfjs/backend.ts";
import type { CustomGradientFunc } from "@tensorflow/tfjs-core/dist/engine.js";
import { NO_LOSS, type TokenizedExample } from "./encode.ts";

/** logits [B, T, V]; targets and weights [B, T] (weights 0 or 1). */
export function replyCrossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D, weights: tf.Tensor2D): tf.Scalar {
  const [b, t, v] = logits.shape;
  const total = Math.max(1, tf.tidy(() => tf.sum(weights).dataSync()[0]!));
  const op = tf.customGrad(((flat: tf.Tensor, save: tf.GradSaveFunc) => {
    const oneHot = tf.oneHot(tf.reshape(targets, [b * t]), v);
    const logProbs = tf.logSoftmax(flat as tf.Tensor2D);
    const w = tf.reshape(weights, [b * t, 1]);
    save([logProbs, oneHot, w]);
    return {
      value: tf.div(tf.neg(tf.sum(tf.mul(tf.mul(logProbs, oneHot), w))), total),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.mul(tf.sub(tf.exp(saved[0]!), saved[1]!), saved[2]!), tf.div(dy, total)),
    };
  }) as CustomGradientFunc<tf.Tensor>);
  return op(tf.reshape(logits, [b * t, v])) as tf.Scalar;
}

/** Reply tokens whose most likely prediction is the target (logits [B, T, V]; no gradient). */
export function correctReplyTokens(logits: tf.Tensor3D, targets: tf.Tensor2D, weights: tf.Tensor2D): number {
  return tf.tidy(() => tf.sum(tf.mul(tf.cast(tf.equal(tf.argMax(logits, 2), targets), "float32"), weights)).dataSync()[0]!);
}

export interface Batch {
  inputs: Int32Array;
  targets: Int32Array;
  weights: Float32Array;
  batchSize: number;
  length: number;
  /** Reply tokens in the batch (the ones with loss). */
  replyTokens: number;
}

/** Right-padded to the longest example: causal attention never lets padding reach a real position. */
export function makeBatch(examples: readonly TokenizedExample[]): Batch {
  const length = Math.max(...examples.map((example) => example.tokens.length));
  const batchSize = examples.length;
  const inputs = new Int32Array(batchSize * length);
  const targets = new Int32Array(batchSize * length);
  const weights = new Float32Array(batchSize * length);
  let replyTokens = 0;
  examples.forEach((example, b) => {
    example.tokens.forEach((token, p) => {
      inputs[b * length + p] = token;
      const label = example.labels[p]!;
      if (label === NO_LOSS) return;
      targets[b * length + p] = label;
      weights[b * length + p] = 1;
      replyTokens++;
    });
  });
  return { inputs, targets, weights, batchSize, length, replyTokens };
}
