import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import { fromProbabilityMap, probabilityOf, rawDistributionOptions, safeLog, topLogprobs } from "../sampling/distribution.ts";
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
    const last = tokens[tokens.length - 1]!;
    const items: ControlledEvaluateInputItem[] = [
      ...tokens.slice(0, -1),
      [last, { generateNext: native ? { token: true, options: { temperature: 0 } } : { probabilities: true, options: rawDistributionOptions } }],
    ];
    const results = await state.target.controlledEvaluate(items);
    const next = results[input.length - 1]?.next;
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
