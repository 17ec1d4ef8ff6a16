import type { ControlledEvaluateInputItem, LlamaContextSequence, Token } from "node-llama-cpp";
import type { DecodedToken } from "./decoding/strategy.ts";
import { fromProbabilityMap, probabilityOf, rawDistributionOptions, safeLog, topLogprobs } from "./sampling/distribution.ts";

/**
 * The logprob of every prompt token given the tokens before it (the first has none), with the
 * `top` most probable alternatives. Leaves all but the last prompt token evaluated in the
 * sequence, so generation continues by feeding only the last one.
 */
export async function scorePrompt(sequence: LlamaContextSequence, prompt: readonly number[], top: number): Promise<DecodedToken[]> {
  const items: ControlledEvaluateInputItem[] = prompt
    .slice(0, -1)
    .map((token) => [token as Token, { generateNext: { probabilities: true, options: rawDistributionOptions } }]);
  const results = await sequence.controlledEvaluate(items);
  return prompt.map((token, i) => {
    if (i === 0) return { token, logprob: null, top: null };
    const probabilities = results[i - 1]?.next.probabilities;
    if (probabilities === undefined) throw new Error("The model produced no distribution");
    const distribution = fromProbabilityMap(probabilities);
    return { token, logprob: safeLog(probabilityOf(distribution, token)), top: topLogprobs(distribution, top) };
  });
}
