import { hasPenalties, type SamplingParams } from "./params.ts";

/** A next-token distribution: parallel arrays sorted by probability, highest first. */
export interface Distribution {
  readonly tokens: readonly number[];
  readonly probs: readonly number[];
}

/** Sampling options under which node-llama-cpp returns the model's full, unmodified distribution. */
export const rawDistributionOptions = { temperature: 1, topK: 0, topP: 1, minP: 0 } as const;

/** The native sampling options a distribution is asked for with. */
export interface DistributionOptions {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly minP: number;
}

/**
 * What to ask node-llama-cpp for before sampling in JS: only its top `top_k` where that is
 * exactly what applySampling keeps, else the raw distribution. Copying a whole vocabulary out
 * of node-llama-cpp costs more than a small model's forward pass; k entries cost next to
 * nothing. Exact when the temperature is above 0 (top-k by logit commutes with temperature;
 * probabilities renormalised over the k are the same law), top_p is 1 (top-p accumulates over
 * the untruncated distribution, whereas min-p is a ratio to the top and survives
 * renormalisation), there are no penalties or logit_bias (they reorder tokens before top-k)
 * and no logprobs (those report the raw distribution). Ties in logit at the k-th place may be
 * broken differently from applySampling's order: the same probabilities, other token ids.
 */
export function samplingDistributionOptions(sampling: SamplingParams, logprobs: number | null): DistributionOptions {
  const topKOnly = sampling.temperature > 0 && sampling.topK > 0 && sampling.topP === 1 && logprobs === null && sampling.logitBias.size === 0 && !hasPenalties(sampling);
  return topKOnly ? { ...rawDistributionOptions, topK: sampling.topK } : rawDistributionOptions;
}

/** node-llama-cpp hands probabilities over as a Map already sorted by probability. */
export function fromProbabilityMap(map: ReadonlyMap<number, number>): Distribution {
  const tokens: number[] = [];
  const probs: number[] = [];
  for (const [token, prob] of map) {
    tokens.push(token);
    probs.push(prob);
  }
  return { tokens, probs };
}

export function probabilityOf(distribution: Distribution, token: number): number {
  const index = distribution.tokens.indexOf(token);
  return index < 0 ? 0 : distribution.probs[index]!;
}

/** The `count` most probable tokens with their natural-log probabilities. */
export function topLogprobs(distribution: Distribution, count: number): { token: number; logprob: number }[] {
  const result: { token: number; logprob: number }[] = [];
  for (let i = 0; i < count && i < distribution.tokens.length; i++) {
    result.push({ token: distribution.tokens[i]!, logprob: safeLog(distribution.probs[i]!) });
  }
  return result;
}

/** log(0) would be -Infinity, which JSON cannot carry; OpenAI reports -9999 for that case. */
export function safeLog(prob: number): number {
  return prob > 0 ? Math.log(prob) : -9999;
}
