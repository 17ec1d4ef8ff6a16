import type { ChainConfig } from "../native/chain.ts";
import type { GrammarState } from "../native/grammar-state.ts";
import type { SamplingParams } from "./params.ts";

/**
 * The native chain for a request's sampling fields at one step: `history` is the tokens
 * generated so far (penalties count only those, as OpenAI does), `seed` seeds this step's draw,
 * `banned` are tokens excluded on top of the request's own logit_bias (-100 bans too), `grammar`
 * the state that masks what the grammar does not allow next.
 */
export function chainFor(sampling: SamplingParams, history: readonly number[], seed: number, banned: readonly number[] = [], grammar?: GrammarState): ChainConfig {
  return {
    ...(grammar === undefined ? {} : { grammar }),
    temperature: sampling.temperature,
    topK: sampling.topK,
    topP: sampling.topP,
    minP: sampling.minP,
    seed,
    bias: biasOf(sampling.logitBias, banned),
    penalties: {
      tokens: Uint32Array.from(history),
      repeat: sampling.repetitionPenalty,
      presence: sampling.presencePenalty,
      frequency: sampling.frequencyPenalty,
    },
  };
}

/** The same chain at temperature 0: its argmax, after bias and penalties. */
export function argmaxChain(chain: ChainConfig): ChainConfig {
  return { temperature: 0, ...(chain.grammar === undefined ? {} : { grammar: chain.grammar }), ...(chain.bias === undefined ? {} : { bias: chain.bias }), ...(chain.penalties === undefined ? {} : { penalties: chain.penalties }) };
}

/** The chain with top-k = n put first among the truncations (its n largest logits, sorted, cheaply). */
export function headChain(chain: ChainConfig, n: number): ChainConfig {
  return { ...chain, temperature: chain.temperature > 0 ? chain.temperature : 1, topK: n, topP: 1, minP: 0 };
}

function biasOf(logitBias: ReadonlyMap<number, number>, banned: readonly number[]): ChainConfig["bias"] {
  const biases = new Map<number, number>();
  for (const [token, bias] of logitBias) biases.set(token, bias <= -100 ? -Infinity : bias);
  for (const token of banned) biases.set(token, -Infinity);
  if (biases.size === 0) return undefined;
  return { tokens: Uint32Array.from(biases.keys()), values: Float32Array.from(biases.values()) };
}

/** A fresh 32-bit seed for a native draw from the request's random source. */
export function nextSeed(random: { next(): number }): number {
  return Math.floor(random.next() * 2 ** 32);
}
