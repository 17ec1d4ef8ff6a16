/**
 * Validation figures for the manifest: bits per byte of each model, and how well the
 * draft q predicts the target p: expected acceptance E[sum_x min(p(x), q(x))] (the
 * acceptance rate of one-draft speculative sampling at temperature 1) and argmax
 * agreement, both averaged over the same validation positions.
 */
import { tf } from "../tfjs/backend.ts";
import type { LlamaConfig } from "../transformer/config.ts";
import { forward } from "../transformer/forward.ts";
import type { LlamaWeights } from "../transformer/weights.ts";

export interface EvaluatedModel {
  config: LlamaConfig;
  weights: LlamaWeights;
}

/** Documents tokenized and joined, each followed by the end-of-sequence token. */
export function tokenStream(documents: readonly { text: string }[], tokenize: (text: string) => number[], eos: number): Int32Array {
  const tokens: number[] = [];
  for (const doc of documents) tokens.push(...tokenize(doc.text), eos);
  return Int32Array.from(tokens);
}

/** `count` windows of length + 1 tokens, evenly spaced over the stream (deterministic). */
export function validationWindows(stream: Int32Array, count: number, length: number): Int32Array[] {
  const stride = Math.floor((stream.length - length - 1) / count);
  return Array.from({ length: count }, (_, i) => stream.subarray(i * stride, i * stride + length + 1));
}

/** Softmax rows [windows * length, vocab] for the next-token predictions of each window. */
function probabilities(model: EvaluatedModel, windows: Int32Array[], length: number): Float32Array {
  return tf.tidy(() => {
    const inputs = new Int32Array(windows.length * length);
    windows.forEach((w, i) => inputs.set(w.subarray(0, length), i * length));
    const { logits } = forward(model.config, model.weights, tf.tensor2d(inputs, [windows.length, length], "int32"));
    return tf.softmax(logits).dataSync() as Float32Array;
  });
}

export interface PairFigures {
  targetBitsPerByte: number;
  draftBitsPerByte: number;
  expectedAcceptance: number;
  argmaxAgreement: number;
  positions: number;
}

export function evaluatePair(target: EvaluatedModel, draft: EvaluatedModel, windows: Int32Array[], length: number, tokenBytes: number[], batch = 8): PairFigures {
  const vocab = target.config.vocabSize;
  let targetBits = 0;
  let draftBits = 0;
  let bytes = 0;
  let acceptance = 0;
  let agreement = 0;
  let positions = 0;
  for (let start = 0; start < windows.length; start += batch) {
    const group = windows.slice(start, start + batch);
    const p = probabilities(target, group, length);
    const q = probabilities(draft, group, length);
    group.forEach((window, w) => {
      for (let t = 0; t < length; t++) {
        const row = (w * length + t) * vocab;
        const next = window[t + 1]!;
        targetBits -= Math.log2(Math.max(p[row + next]!, 1e-30));
        draftBits -= Math.log2(Math.max(q[row + next]!, 1e-30));
        bytes += tokenBytes[next]!;
        let overlap = 0;
        let argP = 0;
        let argQ = 0;
        for (let x = 0; x < vocab; x++) {
          overlap += Math.min(p[row + x]!, q[row + x]!);
          if (p[row + x]! > p[row + argP]!) argP = x;
          if (q[row + x]! > q[row + argQ]!) argQ = x;
        }
        acceptance += overlap;
        if (argP === argQ) agreement++;
        positions++;
      }
    });
  }
  return {
    targetBitsPerByte: targetBits / bytes,
    draftBitsPerByte: draftBits / bytes,
    expectedAcceptance: acceptance / positions,
    argmaxAgreement: agreement / positions,
    positions,
  };
}
