/**
 * llama.cpp's sampler chain as node-llama-cpp's native sampler runs it, in the order it
 * applies the steps to the raw logits l of one output:
 *
 *   1. logit bias      l_x += b_x   (b_x = -Infinity bans x)
 *   2. penalties       over `penalized` tokens with count c_x > 0:
 *                      l_x = l_x > 0 ? l_x / repeat : l_x * repeat;  l_x -= c_x * frequency + presence
 *   3. top-k           keep the k largest                       (absent: not in the chain)
 *   4. top-p           keep the smallest prefix of softmax(l) with mass >= p   (absent: not in the chain)
 *   5. min-p           keep x with softmax(l)_x >= minP * max   (absent: not in the chain)
 *   6. temperature     l / T, then draw from softmax (T = 0: argmax of step 2's logits)
 *
 * Under a grammar (step 0) every token the grammar does not allow next is masked (logit
 * -Infinity) before step 1, so every step above, truncation included, sees the masked logits.
 *
 * This is the law every decoding path samples from (sampling/law.ts is its reference in JS).
 */
import type { GrammarState } from "./grammar-state.ts";

export interface ChainConfig {
  /** 0 selects the argmax after bias and penalties. */
  readonly temperature: number;
  readonly topK?: number;
  readonly topP?: number;
  readonly minP?: number;
  /** Seeds the draw (temperature > 0); the same seed draws the same token from the same logits. */
  readonly seed?: number;
  readonly bias?: TokenValues;
  readonly penalties?: Penalties;
  /** The grammar state the masked tokens are read from (each read gets its own copy). */
  readonly grammar?: GrammarState;
}

export interface TokenValues {
  readonly tokens: Uint32Array;
  readonly values: Float32Array;
}

export interface Penalties {
  /** The tokens counted (generated so far), oldest first. */
  readonly tokens: Uint32Array;
  readonly repeat: number;
  readonly presence: number;
  readonly frequency: number;
}

/** The configuration object node-llama-cpp's AddonSampler.applyConfig reads (its internal format). */
export function addonSamplerConfig(chain: ChainConfig): Record<string, unknown> {
  const config: Record<string, unknown> = { temperature: chain.temperature };
  if (chain.temperature > 0) {
    if (chain.topK !== undefined && chain.topK > 0) config.topK = chain.topK;
    if (chain.topP !== undefined && chain.topP < 1) config.topP = chain.topP;
    if (chain.minP !== undefined && chain.minP > 0) config.minP = chain.minP;
    config.seed = (chain.seed ?? 0) >>> 0;
  }
  if (chain.bias !== undefined && chain.bias.tokens.length > 0) {
    config.tokenBiasKeys = chain.bias.tokens;
    config.tokenBiasValues = chain.bias.values;
  }
  const penalties = chain.penalties;
  if (penalties !== undefined && penalties.tokens.length > 0 && (penalties.repeat !== 1 || penalties.presence !== 0 || penalties.frequency !== 0)) {
    config.repeatPenaltyTokens = penalties.tokens;
    config.repeatPenaltyMaxTokens = penalties.tokens.length;
    config.repeatPenalty = penalties.repeat;
    config.repeatPenaltyPresencePenalty = penalties.presence;
    config.repeatPenaltyFrequencyPenalty = penalties.frequency;
  }
  if (chain.grammar !== undefined) config.grammarEvaluationState = chain.grammar.forRead();
  return config;
}

/** Whether the chain leaves only part of the vocabulary (so its candidates can be listed cheaply). */
export function truncates(chain: ChainConfig): boolean {
  return chain.temperature > 0 && ((chain.topK ?? 0) > 0 || (chain.topP ?? 1) < 1 || (chain.minP ?? 0) > 0);
}
