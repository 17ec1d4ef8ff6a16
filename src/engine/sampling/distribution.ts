/** A next-token distribution: parallel arrays sorted by probability, highest first. */
export interface Distribution {
  readonly tokens: readonly number[];
  readonly probs: readonly number[];
}

/** Sampling options under which node-llama-cpp returns the model's full, unmodified distribution. */
export const rawDistributionOptions = { temperature: 1, topK: 0, topP: 1, minP: 0 } as const;

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
