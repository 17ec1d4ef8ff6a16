import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createRandom } from "../kernels/random.ts";
import { initBackend, tf } from "../kernels/tfjs/backend.ts";
import type { LlamaConfig } from "../kernels/transformer/config.ts";
import { crossEntropy, embed, forward, linear } from "../kernels/transformer/forward.ts";
import { growModel } from "../kernels/transformer/grow.ts";
import { toVariables } from "../kernels/transformer/train.ts";
import { initWeights, namedTensors, type LlamaWeights } from "../kernels/transformer/weights.ts";

const tiny: LlamaConfig = { vocabSize: 64, dim: 16, layers: 2, heads: 4, kvHeads: 2, ffnDim: 32, contextLength: 32, ropeBase: 10000, normEps: 1e-5 };

function scaled(weights: LlamaWeights, factor: number): LlamaWeights {
  // Larger-than-init weights make every nonlinearity matter, so a wrong gradient shows.
  const scale = (t: tf.Tensor): tf.Tensor => (t.rank === 1 ? tf.add(t, tf.randomUniform(t.shape, -0.5, 0.5, "float32", 3)) : tf.mul(t, factor));
  return {
    token_embd: scale(weights.token_embd) as tf.Tensor2D,
    layers: weights.layers.map((l) => Object.fromEntries(Object.entries(l).map(([k, t]) => [k, scale(t)])) as never),
    output_norm: scale(weights.output_norm) as tf.Tensor1D,
    output: scale(weights.output) as tf.Tensor2D,
  };
}

function batch(seed: number, b: number, t: number): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const random = createRandom(seed);
  const ids = Int32Array.from({ length: b * (t + 1) }, () => random.int(tiny.vocabSize));
  const x = new Int32Array(b * t);
  const y = new Int32Array(b * t);
  for (let i = 0; i < b; i++) {
    x.set(ids.subarray(i * (t + 1), i * (t + 1) + t), i * t);
    y.set(ids.subarray(i * (t + 1) + 1, (i + 1) * (t + 1)), i * t);
  }
  return { x: tf.tensor2d(x, [b, t], "int32"), y: tf.tensor2d(y, [b, t], "int32") };
}

before(async () => {
  await initBackend();
});

describe("tfjs llama transformer", () => {
  it("gradients match central finite differences on a tiny random model", () => {
    const weights = toVariables(scaled(initWeights(tiny, 11), 15), "fd");
    const { x, y } = batch(5, 2, 8);
    const loss = (): tf.Scalar => crossEntropy(forward(tiny, weights, x).logits, y);
    const named = namedTensors(weights) as [string, tf.Variable][];
    const { grads } = tf.variableGrads(loss, named.map(([, v]) => v));
    const random = createRandom(3);
    let checked = 0;
    for (const [name, variable] of named) {
      const g = grads[variable.name]!.dataSync() as Float32Array;
      const base = variable.dataSync().slice() as Float32Array;
      // Direction: the gradient plus noise, normalised: a large, checkable derivative.
      const gNorm = Math.hypot(...g);
      if (gNorm === 0) continue;
      const direction = Float32Array.from(g, (gi) => gi / gNorm + (random.normal() * 0.5) / Math.sqrt(g.length));
      const dNorm = Math.hypot(...direction);
      direction.forEach((_, i) => (direction[i]! /= dNorm));
      const analytic = g.reduce((sum, gi, i) => sum + gi * direction[i]!, 0);
      const eps = 1e-2;
      const at = (sign: number): number => {
        variable.assign(tf.tensor(Float32Array.from(base, (v, i) => v + sign * eps * direction[i]!), variable.shape));
        return loss().dataSync()[0]!;
      };
      const numeric = (at(1) - at(-1)) / (2 * eps);
      variable.assign(tf.tensor(base, variable.shape));
      const relative = Math.abs(numeric - analytic) / Math.max(1e-3, Math.abs(analytic));
      assert.ok(relative < 2e-2, `${name}: analytic ${analytic}, numeric ${numeric} (relative error ${relative})`);
      checked++;
    }
    assert.equal(checked, named.length, "every tensor receives a gradient");
  });

  it("hand-written gradients equal tfjs autodiff of the plain ops", () => {
    const random = createRandom(9);
    const x = tf.tensor2d(Float32Array.from({ length: 6 * 5 }, () => random.normal()), [6, 5]);
    const w = tf.tensor2d(Float32Array.from({ length: 5 * 7 }, () => random.normal()), [5, 7]);
    const table = tf.tensor2d(Float32Array.from({ length: 9 * 4 }, () => random.normal()), [9, 4]);
    const ids = Int32Array.from([3, 1, 3, 8, 0, 3]);
    const targets = tf.tensor2d(Int32Array.from([1, 4, 6, 0, 2, 5]), [2, 3], "int32");
    const probe = tf.tensor2d(Float32Array.from({ length: 6 * 7 }, () => random.normal()), [6, 7]);
    const close = (a: tf.Tensor, b: tf.Tensor): void => {
      const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
      assert.ok(diff < 1e-4, `max diff ${diff}`);
    };
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(linear(a as tf.Tensor2D, b as tf.Tensor2D), probe)))([x, w]);
    const [rx, rw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b), probe)))([x, w]);
    close(gx!, rx!);
    close(gw!, rw!);
    const oneHot = tf.oneHot(tf.tensor1d(ids, "int32"), 9);
    const rowProbe = tf.tensor2d(Float32Array.from({ length: 6 * 4 }, () => random.normal()), [6, 4]);
    close(
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(embed(t as tf.Tensor2D, ids), rowProbe)))(table),
      tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.matMul(oneHot, t), rowProbe)))(table),
    );
    const logits = tf.reshape(probe, [2, 3, 7]) as tf.Tensor3D;
    const plain = (l: tf.Tensor): tf.Scalar => {
      const flat = tf.reshape(l, [6, 7]);
      return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(flat), tf.oneHot(tf.reshape(targets, [6]), 7)), -1))) as tf.Scalar;
    };
    close(crossEntropy(logits, targets), plain(logits));
    close(tf.grad((l: tf.Tensor) => crossEntropy(l as tf.Tensor3D, targets))(logits), tf.grad(plain)(logits));
  });

  it("attention is causal: later tokens never change earlier logits", () => {
    const weights = scaled(initWeights(tiny, 12), 10);
    const a = tf.tensor2d([[5, 9, 1, 33, 7, 2]], [1, 6], "int32");
    const b = tf.tensor2d([[5, 9, 1, 40, 60, 61]], [1, 6], "int32");
    const la = forward(tiny, weights, a).logits.slice([0, 0, 0], [1, 3, -1]);
    const lb = forward(tiny, weights, b).logits.slice([0, 0, 0], [1, 3, -1]);
    assert.ok(tf.max(tf.abs(tf.sub(la, lb))).dataSync()[0]! < 1e-5);
    const later = tf.max(tf.abs(tf.sub(forward(tiny, weights, a).logits, forward(tiny, weights, b).logits))).dataSync()[0]!;
    assert.ok(later > 1e-3, "the changed positions do change");
  });

  it("per-layer hidden states are returned on request", () => {
    const weights = initWeights(tiny, 13);
    const { hiddenStates, logits } = forward(tiny, weights, tf.tensor2d([[1, 2, 3]], [1, 3], "int32"), { hiddenStates: true });
    assert.equal(hiddenStates!.length, tiny.layers);
    assert.deepEqual(hiddenStates![0]!.shape, [1, 3, tiny.dim]);
    assert.deepEqual(logits.shape, [1, 3, tiny.vocabSize]);
  });

  it("growing deeper and wider preserves the function exactly, then differs once trained", () => {
    const weights = scaled(initWeights(tiny, 14), 10);
    const grown = growModel(tiny, weights, { layers: 5, ffnDim: 48 }, 15);
    assert.equal(grown.weights.layers.length, 5);
    const tokens = tf.tensor2d([[4, 8, 15, 16, 23, 42]], [1, 6], "int32");
    const before = forward(tiny, weights, tokens).logits;
    const after = forward(grown.config, grown.weights, tokens).logits;
    assert.ok(tf.max(tf.abs(tf.sub(before, after))).dataSync()[0]! < 1e-5);
    // The silent parts are exactly zero, not merely small.
    assert.equal(tf.max(tf.abs(grown.weights.layers[1]!.attn_output)).dataSync()[0], 0);
    assert.equal(tf.max(tf.abs(grown.weights.layers[0]!.ffn_down.slice([tiny.ffnDim, 0], [-1, -1]))).dataSync()[0], 0);
  });

  it("a projection delta is added to exactly that projection", () => {
    const weights = initWeights(tiny, 16);
    const tokens = tf.tensor2d([[1, 2, 3, 4]], [1, 4], "int32");
    const calls: string[] = [];
    const plain = forward(tiny, weights, tokens).logits;
    const zero = forward(tiny, weights, tokens, {
      projectionDelta: (layer, name, x) => {
        calls.push(`${layer}.${name}`);
        return name === "attn_v" ? tf.zeros([x.shape[0], 8]) : undefined;
      },
    }).logits;
    assert.equal(calls.length, tiny.layers * 7);
    assert.ok(tf.max(tf.abs(tf.sub(plain, zero))).dataSync()[0]! < 1e-6);
    const shifted = forward(tiny, weights, tokens, { projectionDelta: (layer, name, x) => (layer === 1 && name === "ffn_down" ? tf.fill([x.shape[0], tiny.dim], 0.5) : undefined) }).logits;
    assert.ok(tf.max(tf.abs(tf.sub(plain, shifted))).dataSync()[0]! > 1e-3);
  });
});
