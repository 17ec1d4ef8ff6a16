import type { ControlledEvaluateInputItem, Token } from "node-llama-cpp";
import { fromProbabilityMap, probabilityOf, rawDistributionOptions, safeLog, samplingDistributionOptions, topLogprobs, type DistributionOptions } from "../sampling/distribution.ts";
import { draw } from "../sampling/draw.ts";
import { hasPenalties } from "../sampling/params.ts";
import { applySampling } from "../sampling/transform.ts";
import type { DecodedToken, DecodingState, DecodingStrategy } from "./strategy.ts";

/**
 * One token per step. Where node-llama-cpp's own sampler draws from exactly the law
 * applySampling gives (nativeSampling), it picks the token and nothing is copied into JS;
 * otherwise sampling happens in JS over the copied distribution (applySampling + the
 * request's seeded random source).
 */
export const plainDecoding: DecodingStrategy = {
  name: "plain",
  async next(input: readonly number[], state: DecodingState): Promise<DecodedToken[]> {
    const native = nativeSampling(state);
    // node-llama-cpp brands token ids; ours come from its own tokenizer or a validated vocabulary range.
    const tokens = input as readonly Token[];
    // The prompt goes in first without outputs, so every batch step that has outputs gives one
    // token per sequence. A sequence with several tokens and an output beside others with one
    // makes llama.cpp reorder outputs lazily while node-llama-cpp reads them from concurrent
    // threads, which can hand a request another's distribution (see spectr-sequences.ts).
    if (tokens.length > 1) await state.target.controlledEvaluate(tokens.slice(0, -1));
    const last: ControlledEvaluateInputItem = [
      tokens[tokens.length - 1]!,
      { generateNext: native !== undefined ? { token: true, options: native } : { probabilities: true, options: samplingDistributionOptions(state.sampling, state.logprobs) } },
    ];
    const [result] = await state.target.controlledEvaluate([last]);
    const next = result?.next;
    if (native !== undefined) {
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

/** Options under which node-llama-cpp picks the next token itself. */
export interface NativeSamplingOptions extends DistributionOptions {
  readonly seed?: number;
}

/**
 * When node-llama-cpp's sampler draws from exactly applySampling's law, its options; else
 * undefined. Temperature 0: its argmax. Temperature > 0 with at most top_k: its chain top-k ->
 * temperature -> draw is the same law (top-k by logit commutes with temperature), seeded from
 * the request's random source so that a seed still fixes the output. Not with penalties or
 * logit_bias (our own definitions), top_p or min_p (node-llama-cpp applies them before the
 * temperature, applySampling after it), nor logprobs (they need the distribution).
 */
export function nativeSampling(state: Pick<DecodingState, "sampling" | "logprobs" | "random">): NativeSamplingOptions | undefined {
  const { sampling } = state;
  if (state.logprobs !== null || sampling.logitBias.size > 0 || hasPenalties(sampling)) return undefined;
  if (sampling.temperature === 0) return { ...rawDistributionOptions, temperature: 0 };
  if (sampling.topP !== 1 || sampling.minP !== 0) return undefined;
  return { ...rawDistributionOptions, temperature: sampling.temperature, topK: sampling.topK, seed: Math.floor(state.random.next() * 2 ** 32) };
}
