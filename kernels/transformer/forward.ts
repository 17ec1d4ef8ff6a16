/**
 * Forward pass of a llama-architecture model, computing what llama.cpp computes for
 * arch `llama`: RMSNorm, RoPE in NORM mode (adjacent pairs rotate), grouped-KV causal
 * attention, SwiGLU feed-forward, output norm and head. Gradients come from tfjs.
 */
import { tf } from "../tfjs/backend.ts";
import { headDim, type LlamaConfig } from "./config.ts";
import type { LlamaWeights, ProjectionName } from "./weights.ts";
import type { CustomGradientFunc } from "@tensorflow/tfjs-core/dist/engine.js";

/**
 * Extension point for adapters: returns a delta to add to projection `name` of layer
 * `layer` for input rows x ([N, in]), or undefined for none. LoRA plugs in here.
 */
export type ProjectionDelta = (layer: number, name: ProjectionName, x: tf.Tensor2D) => tf.Tensor2D | undefined;

export interface ForwardOptions {
  /** Also return the residual stream after each layer ([B, T, dim] each). */
  hiddenStates?: boolean;
  projectionDelta?: ProjectionDelta;
}

export interface ForwardResult {
  /** [B, T, vocab] */
  logits: tf.Tensor3D;
  hiddenStates?: tf.Tensor3D[];
}

export function rmsNorm(x: tf.Tensor, weight: tf.Tensor1D, eps: number): tf.Tensor {
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), weight);
}

/**
 * RoPE as llama.cpp applies it for arch `llama` (NORM mode): within each head, the pair
 * (x[2i], x[2i+1]) rotates by theta = pos * base^(-2i/headDim). Written as
 * x * cos + (x @ R) * sin, with R the fixed signed pair swap, so that it is one small
 * matmul and elementwise ops (splitting pairs apart is slow on the wasm backend).
 */
export interface RopeTables {
  /** [T, headDim]: cos(theta) for both members of each pair. */
  cos: tf.Tensor2D;
  sin: tf.Tensor2D;
  /** [headDim, headDim]: (x @ swap)[2i] = -x[2i+1], (x @ swap)[2i+1] = x[2i]. */
  swap: tf.Tensor2D;
}

export function ropeTables(length: number, dim: number, base: number): RopeTables {
  const cos = new Float32Array(length * dim);
  const sin = new Float32Array(length * dim);
  for (let pos = 0; pos < length; pos++) {
    for (let i = 0; i < dim / 2; i++) {
      const theta = pos * Math.pow(base, (-2 * i) / dim);
      cos[pos * dim + 2 * i] = cos[pos * dim + 2 * i + 1] = Math.cos(theta);
      sin[pos * dim + 2 * i] = sin[pos * dim + 2 * i + 1] = Math.sin(theta);
    }
  }
  const swap = new Float32Array(dim * dim);
  for (let i = 0; i < dim / 2; i++) {
    swap[(2 * i + 1) * dim + 2 * i] = -1;
    swap[2 * i * dim + 2 * i + 1] = 1;
  }
  return { cos: tf.tensor2d(cos, [length, dim]), sin: tf.tensor2d(sin, [length, dim]), swap: tf.tensor2d(swap, [dim, dim]) };
}

/** Applies RoPE to x: [B, T, H, D]. */
export function applyRope(x: tf.Tensor4D, tables: RopeTables): tf.Tensor4D {
  const [b, t, h, d] = x.shape;
  const swapped = tf.reshape(linear(tf.reshape(x, [b * t * h, d]), tables.swap), [b, t, h, d]);
  const cos = tf.reshape(tables.cos, [1, t, 1, d]);
  const sin = tf.reshape(tables.sin, [1, t, 1, d]);
  return tf.add(tf.mul(x, cos), tf.mul(swapped, sin));
}

function causalMask(length: number): tf.Tensor2D {
  const mask = new Float32Array(length * length);
  for (let i = 0; i < length; i++) for (let j = i + 1; j < length; j++) mask[i * length + j] = -1e9;
  return tf.tensor2d(mask, [length, length]);
}

/**
 * x [N, in] @ w [in, out], with a gradient that transposes explicitly: the wasm
 * backend's matMul with transposeA/transposeB runs ~10x slower than a transpose plus a
 * plain matMul.
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const op = tf.customGrad(((input: tf.Tensor, weight: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input, weight]);
    return {
      value: tf.matMul(input as tf.Tensor2D, weight as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(saved[1]!)),
        tf.matMul(tf.transpose(saved[0]!), dy as tf.Tensor2D),
      ],
    };
  }) as CustomGradientFunc<tf.Tensor>);
  return op(x, w) as tf.Tensor2D;
}

/**
 * Embedding lookup with a hand-written gradient: a scatter-add over the looked-up rows.
 * The wasm backend has no UnsortedSegmentSum kernel, which tf.gather's gradient needs.
 */
export function embed(table: tf.Tensor2D, ids: Int32Array): tf.Tensor2D {
  const [vocab, dim] = table.shape;
  const lookup = tf.customGrad(((t: tf.Tensor) => ({
    value: tf.gather(t as tf.Tensor2D, tf.tensor1d(ids, "int32")),
    gradFunc: (dy: tf.Tensor) => {
      const rows = dy.dataSync();
      const grad = new Float32Array(vocab * dim);
      ids.forEach((id, r) => {
        for (let j = 0; j < dim; j++) grad[id * dim + j]! += rows[r * dim + j]!;
      });
      return tf.tensor2d(grad, [vocab, dim]);
    },
  })) as CustomGradientFunc<tf.Tensor>);
  return lookup(table) as tf.Tensor2D;
}

export function forward(config: LlamaConfig, weights: LlamaWeights, tokens: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult {
  const [batch, length] = tokens.shape;
  const hd = headDim(config);
  const group = config.heads / config.kvHeads;
  const rows = batch * length;
  const rope = ropeTables(length, hd, config.ropeBase);
  const mask = causalMask(length);
  const hiddenStates: tf.Tensor3D[] = [];

  const project = (layer: number, name: ProjectionName, x: tf.Tensor2D): tf.Tensor2D => {
    const base = linear(x, weights.layers[layer]![name]);
    const delta = options.projectionDelta?.(layer, name, x);
    return delta ? (tf.add(base, delta) as tf.Tensor2D) : base;
  };
  const heads = (x: tf.Tensor2D, count: number): tf.Tensor4D => tf.reshape(x, [batch, length, count, hd]);
  // Query head h reads KV head floor(h / group), as llama.cpp's grouped attention does.
  // Built from slices and concat: the gather and tile gradients are missing on wasm.
  const repeatKv = (x: tf.Tensor4D): tf.Tensor4D => {
    if (group === 1) return x;
    const kvHeads = tf.split(x, config.kvHeads, 2);
    return tf.concat(kvHeads.flatMap((head) => new Array<tf.Tensor>(group).fill(head)), 2) as tf.Tensor4D;
  };

  let residual = embed(weights.token_embd, tokens.dataSync() as Int32Array);
  for (let l = 0; l < config.layers; l++) {
    const layer = weights.layers[l]!;
    const attnIn = rmsNorm(residual, layer.attn_norm, config.normEps) as tf.Tensor2D;
    const q = applyRope(heads(project(l, "attn_q", attnIn), config.heads), rope);
    const k = repeatKv(applyRope(heads(project(l, "attn_k", attnIn), config.kvHeads), rope));
    const v = repeatKv(heads(project(l, "attn_v", attnIn), config.kvHeads));
    const scores = tf.add(
      tf.mul(tf.matMul(tf.transpose(q, [0, 2, 1, 3]), tf.transpose(k, [0, 2, 1, 3]), false, true), 1 / Math.sqrt(hd)),
      mask,
    );
    const attended = tf.matMul(tf.softmax(scores), tf.transpose(v, [0, 2, 1, 3]));
    const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [rows, config.dim]) as tf.Tensor2D;
    residual = tf.add(residual, project(l, "attn_output", merged));
    const ffnIn = rmsNorm(residual, layer.ffn_norm, config.normEps) as tf.Tensor2D;
    const gate = project(l, "ffn_gate", ffnIn);
    const gated = tf.mul(tf.mul(gate, tf.sigmoid(gate)), project(l, "ffn_up", ffnIn)) as tf.Tensor2D;
    residual = tf.add(residual, project(l, "ffn_down", gated)) as tf.Tensor2D;
    if (options.hiddenStates) hiddenStates.push(tf.reshape(residual, [batch, length, config.dim]));
  }
  const normed = rmsNorm(residual, weights.output_norm, config.normEps) as tf.Tensor2D;
  const logits = tf.reshape(linear(normed, weights.output), [batch, length, config.vocabSize]) as tf.Tensor3D;
  return options.hiddenStates ? { logits, hiddenStates } : { logits };
}

/**
 * Mean next-token cross-entropy in nats; targets[b][t] is the token after tokens[b][t].
 * The gradient (softmax - onehot) / N is written out: tfjs's logSumExp gradient goes
 * through Max/Equal kernels that dominate a training step on wasm.
 */
export function crossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Scalar {
  const [b, t, v] = logits.shape;
  const op = tf.customGrad(((flat: tf.Tensor, save: tf.GradSaveFunc) => {
    const oneHot = tf.oneHot(tf.reshape(targets, [b * t]), v);
    const logProbs = tf.logSoftmax(flat as tf.Tensor2D);
    save([logProbs, oneHot]);
    return {
      value: tf.neg(tf.mean(tf.sum(tf.mul(logProbs, oneHot), -1))),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.sub(tf.exp(saved[0]!), saved[1]!), tf.div(dy, b * t)),
    };
  }) as CustomGradientFunc<tf.Tensor>);
  return op(tf.reshape(logits, [b * t, v])) as tf.Scalar;
}
