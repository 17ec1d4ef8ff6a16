import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import { fromProbabilityMap, probabilityOf, safeLog, samplingDistributionOptions, topLogprobs } from "../sampling/distribution.ts";
import { draw } from "../sampling/draw.ts";
import { hasPenalties } from "../sampling/params.ts";
import { applySampling } from "../sampling/transform.ts";
import type { DecodedToken, DecodingState, DecodingStrategy } from "./strategy.ts";

/**
 * One token per step. Sampling happens in JS over the raw distribution (applySampling + the
 * request's seeded random source); only plain greedy decoding without logprobs lets llama.cpp
 * pick the argmax natively, which is the same token and skips copying the vocabulary into JS.
 */
export const plainDecoding: DecodingStrategy = {
  name: "plain",
  async next(input: readonly number[], state: DecodingState): Promise<DecodedToken[]> {
    const native = needsNoDistribution(state);
    // node-llama-cpp brands token ids; ours come from its own tokenizer or a validated vocabulary range.
    const tokens = input as readonly Token[];
    // The prompt goes in first without outputs, so every batch step that has outputs gives one
    // token per sequence. A sequence with several tokens and an output beside others with one
    // makes llama.cpp reorder outputs lazily while node-llama-cpp reads them from concurrent
    // threads, which can hand a request another's distribution (see spectr-sequences.ts).
    if (tokens.length > 1) await state.target.controlledEvaluate(tokens.slice(0, -1));
    const last: ControlledEvaluateInputItem = [
      tokens[tokens.length - 1]!,
      { generateNext: native ? { token: true, options: { temperature: 0 } } : { probabilities: true, options: samplingDistributionOptions(state.sampling, state.logprobs) } },
    ];
    const [result] = await state.target.controlledEvaluate([last]);
    const next = result?.next;
    if (native) {
      if (next?.token == null) throw new Error("The model produced no token");
      return [{ token: next.token, logprob: null, top: null }];
    }
    if (next?.probabilities === undefined) throw new Error("The model produced no distribution");
    const raw = fromProbabilityMap(next.probabilities);
    const token = draw(applySampling(raw, state.sampling, state.history), state.random);
    if (state.logprobs === null) return [{ token, logprob: null, top: null }];
    return [{ token, logprob: safeLog(probabilityOf(raw, token)), top: topLogprobs(raw, state.logprobs) }];
  },
};

function needsNoDistribution(state: DecodingState): boolean {
  const { sampling } = state;
  return state.logprobs === null && sampling.temperature === 0 && sampling.logitBias.size === 0 && !hasPenalties(sampling);
}
