import { evaluateWithOutputs, type OutputTask } from "../native/outputs.ts";
import { drawToken, rawLogprobs } from "../native/reads.ts";
import { chainFor, nextSeed } from "../sampling/chain-for.ts";
import type { DecodedToken, DecodingState, DecodingStrategy } from "./strategy.ts";

/**
 * One token per step: `input` and the next token's output in one evaluation, the token drawn
 * natively under the request's chain (native/chain.ts) with a seed from the request's random
 * source, and the raw logprobs read from the same output when asked for. Nothing is copied
 * per vocabulary token into JS.
 */
export const plainDecoding: DecodingStrategy = {
  name: "plain",
  async next(input: readonly number[], state: DecodingState): Promise<DecodedToken[]> {
    return [await plainToken(input, state, [])];
  },
};

/** The next token with `banned` excluded on top of the request's bias (SpecTr's tail step). */
export async function plainToken(input: readonly number[], state: DecodingState, banned: readonly number[]): Promise<DecodedToken> {
  const seed = state.sampling.temperature > 0 ? nextSeed(state.random) : 0;
  const chain = chainFor(state.sampling, state.history, seed, banned, state.grammar);
  const read: OutputTask<DecodedToken> = async (reader) => {
    const token = await drawToken(reader, chain);
    if (state.logprobs === null) return { token, logprob: null, top: null };
    const raw = await rawLogprobs(reader, [token], state.logprobs, state.grammar);
    return { token, logprob: raw.of(token), top: raw.top };
  };
  const decoded = (await evaluateWithOutputs(state.target, input, new Map([[input.length - 1, read]])))[input.length - 1];
  if (decoded === undefined) throw new Error("The model produced no output");
  return decoded;
}
