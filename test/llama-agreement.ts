/**
 * Compares the next-token distributions llama.cpp computes (through node-llama-cpp) with
 * those of our tfjs forward pass on the same tokens: the equivalence check shared by the
 * model tests.
 */
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { tf } from "../kernels/tfjs/backend.ts";
import type { LlamaConfig } from "../kernels/transformer/config.ts";
import { forward } from "../kernels/transformer/forward.ts";
import type { LlamaWeights } from "../kernels/transformer/weights.ts";

const FULL_DISTRIBUTION = { temperature: 1, topK: 0, topP: 1, minP: 0 };

export interface Agreement {
  positions: number;
  /** Positions where both pick the same most likely token. */
  agreements: number;
  /** Max |log p_llama - log p_tfjs| over tokens llama.cpp gives p > minProbability. */
  maxDiff: number;
  /** Largest spread of log-probabilities within one position (how sharp the distributions are). */
  spread: number;
  /** Positions where llama.cpp returned fewer tokens than the vocabulary. */
  truncated: number;
}

export async function compareWithLlama(
  sequence: LlamaContextSequence,
  config: LlamaConfig,
  weights: LlamaWeights,
  tokens: readonly Token[],
  minProbability: number,
): Promise<Agreement> {
  const outputs = await sequence.controlledEvaluate(tokens.map((t) => [t, { generateNext: { probabilities: true, options: FULL_DISTRIBUTION } }]));
  const logProbs = tf.tidy(() => tf.logSoftmax(forward(config, weights, tf.tensor2d([tokens.map(Number)], [1, tokens.length], "int32")).logits).dataSync());
  const result: Agreement = { positions: tokens.length, agreements: 0, maxDiff: 0, spread: 0, truncated: 0 };
  tokens.forEach((_, i) => {
    const probabilities = outputs[i]!.next.probabilities!;
    if (probabilities.size !== config.vocabSize) result.truncated++;
    const row = logProbs.subarray(i * config.vocabSize, (i + 1) * config.vocabSize);
    let ours = 0;
    for (let x = 1; x < row.length; x++) if (row[x]! > row[ours]!) ours = x;
    if (ours === Number(probabilities.keys().next().value)) result.agreements++;
    for (const [token, p] of probabilities) {
      if (p > minProbability) result.maxDiff = Math.max(result.maxDiff, Math.abs(Math.log(p) - row[Number(token)]!));
    }
    result.spread = Math.max(result.spread, Math.max(...row) - Math.min(...row));
  });
  return result;
}
