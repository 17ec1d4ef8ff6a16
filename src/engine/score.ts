import type { LlamaContextSequence } from "node-llama-cpp";
import type { DecodedToken } from "./decoding/strategy.ts";
import { evaluateWithOutputs, type OutputTask } from "./native/outputs.ts";
import { rawLogprobs } from "./native/reads.ts";

/**
 * The logprob of every prompt token given the tokens before it (the first has none), with the
 * `top` most probable alternatives. Leaves all but the last prompt token evaluated in the
 * sequence, so generation continues by feeding only the last one.
 */
export async function scorePrompt(sequence: LlamaContextSequence, prompt: readonly number[], top: number): Promise<DecodedToken[]> {
  const outputs = new Map<number, OutputTask<DecodedToken>>();
  for (let i = 0; i + 1 < prompt.length; i++) {
    const token = prompt[i + 1]!;
    outputs.set(i, async (reader) => {
      const raw = await rawLogprobs(reader, [token], top);
      return { token, logprob: raw.of(token), top: raw.top };
    });
  }
  const scored = await evaluateWithOutputs(sequence, prompt.slice(0, -1), outputs);
  return [{ token: prompt[0]!, logprob: null, top: null }, ...prompt.slice(1).map((_, i) => scored[i]!)];
}
