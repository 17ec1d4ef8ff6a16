/**
 * Forward pass of a llama-architecture model, computing what llama.cpp computes for
 * arch `llama`: RMSNorm, RoPE in NORM mode (adjacent pairs rotate), grouped-KV causal
 * attention, SwiGLU feed-forward, output norm and head. Gradients come from tfjs.
 */
import { tf } from "../tfjs/backend.ts";
import { headDim, type LlamaConfig } from "./config.ts";
import type { LlamaWeights, ProjectionName } from "./weights.ts";

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

/** cos and sin tables [T, headDim/2]: theta_i = pos * base^(-2i/headDim), as ggml_rope_ext. */
export function ropeTables(length: number, dim: number, base: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = dim / 2;
  const cos = new Float32Array(length * half);
  const sin = new Float32Array(length * half);
  for (let pos = 0; pos < length; pos++) {
    for (let i = 0; i < half; i++) {
      const theta = pos * Math.pow(base, (-2 * i) / dim);
      cos[pos * half + i] = Math.cos(theta);
      sin[pos * half + i] = Math.sin(theta);
    }
  }
  return { cos: tf.tensor2d(cos, [length, half]), sin: tf.tensor2d(sin, [length, half]) };
}

/** Rotates adjacent pairs (x[2i], x[2i+1]) of x: [B, T, H, D]. */
export function applyRope(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor4D {
  const [b, t, h, d] = x.shape;
  const pairs = tf.reshape(x, [b, t, h, d / 2, 2]);
  const [even, odd] = tf.split(pairs, 2, 4).map((part) => tf.reshape(part, [b, t, h, d / 2]));
  const c = tf.reshape(cos, [1, t, 1, d / 2]);
  const s = tf.reshape(sin, [1, t, 1, d / 2]);
  const rotatedEven = tf.sub(tf.mul(even!, c), tf.mul(odd!, s));
  const rotatedOdd = tf.add(tf.mul(even!, s), tf.mul(odd!, c));
  return tf.reshape(tf.stack([rotatedEven, rotatedOdd], 4), [b, t, h, d]);
}

function causalMask(length: number): tf.Tensor2D {
  const mask = new Float32Array(length * length);
  for (let i = 0; i < length; i++) for (let j = i + 1; j < length; j++) mask[i * length + j] = -1e9;
  return tf.tensor2d(mask, [length, length]);
}

export function forward(config: LlamaConfig, weights: LlamaWeights, tokens: tf.Tensor2D, options: ForwardOptions = {}): ForwardResult {
  const [batch, length] = tokens.shape;
  const hd = headDim(config);
  const group = config.heads / config.kvHeads;
  const rows = batch * length;
  const { cos, sin } = ropeTables(length, hd, config.ropeBase);
  const mask = causalMask(length);
  const hiddenStates: tf.Tensor3D[] = [];

  const project = (layer: number, name: ProjectionName, x: tf.Tensor2D): tf.Tensor2D => {
    const base = tf.matMul(x, weights.layers[layer]![name], false, true) as tf.Tensor2D;
    const delta = options.projectionDelta?.(layer, name, x);
    return delta ? (tf.add(base, delta) as tf.Tensor2D) : base;
  };
  const heads = (x: tf.Tensor2D, count: number): tf.Tensor4D => tf.reshape(x, [batch, length, count, hd]);
  const repeatKv = (x: tf.Tensor4D): tf.Tensor4D => {
    if (group === 1) return x;
    const expanded = tf.tile(tf.reshape(x, [batch, length, config.kvHeads, 1, hd]), [1, 1, 1, group, 1]);
    return tf.reshape(expanded, [batch, length, config.heads, hd]);
  };

  let residual = tf.reshape(tf.gather(weights.token_embd, tf.reshape(tokens, [rows])), [rows, config.dim]) as tf.Tensor2D;
  for (let l = 0; l < config.layers; l++) {
    const layer = weights.layers[l]!;
    const attnIn = rmsNorm(residual, layer.attn_norm, config.normEps) as tf.Tensor2D;
    const q = applyRope(heads(project(l, "attn_q", attnIn), config.heads), cos, sin);
    const k = repeatKv(applyRope(heads(project(l, "attn_k", attnIn), config.kvHeads), cos, sin));
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
  const logits = tf.reshape(tf.matMul(normed, weights.output, false, true), [batch, length, config.vocabSize]) as tf.Tensor3D;
  return options.hiddenStates ? { logits, hiddenStates } : { logits };
}

/** Mean next-token cross-entropy in nats; targets[b][t] is the token after tokens[b][t]. */
export function crossEntropy(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Scalar {
  const [b, t, v] = logits.shape;
  const flat = tf.reshape(logits, [b * t, v]);
  const logProbs = tf.sub(flat, tf.logSumExp(flat, -1, true));
  const picked = tf.sum(tf.mul(logProbs, tf.oneHot(tf.reshape(targets, [b * t]), v)), -1);
  return tf.neg(tf.mean(picked)) as tf.Scalar;
}
