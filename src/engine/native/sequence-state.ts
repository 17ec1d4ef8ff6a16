/**
 * Copying one sequence's evaluated state into another of the same context (llama.cpp's
 * seq_cp): n choices of one prompt, and SpecTr's K target (and draft) sequences, evaluate the
 * prompt once. Wraps node-llama-cpp 3.22.1's internal `_copyStateFromOtherSequence` (tested in
 * test/native-outputs.test.ts).
 */
import type { LlamaContextSequence } from "node-llama-cpp";

interface CopyInternals {
  _copyStateFromOtherSequence(other: LlamaContextSequence, upToTokenIndex: number): Promise<boolean>;
}

/**
 * Makes `destination` hold `source`'s first `length` tokens (and their KV state), dropping
 * whatever it held. False, leaving `destination` to evaluate for itself, when the two do not
 * share a context or the copy did not give exactly that state.
 */
export async function copySequenceState(destination: LlamaContextSequence, source: LlamaContextSequence, length: number): Promise<boolean> {
  if (destination === source) return true;
  if (destination.context !== source.context || source.contextTokens.length < length) return false;
  const copied = await (destination as unknown as CopyInternals)._copyStateFromOtherSequence(source, length);
  if (copied && destination.contextTokens.length === length) return true;
  await destination.clearHistory();
  return false;
}
