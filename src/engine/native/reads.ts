/**
 * The questions decoding asks of one output, each a few native reads (outputs.ts), none
 * costing JS time proportional to the vocabulary.
 */
import { invalidRequest } from "../../protocol/errors.ts";
import { argmaxChain } from "../sampling/chain-for.ts";
import { truncates, type ChainConfig } from "./chain.ts";
import type { GrammarState } from "./grammar-state.ts";
import type { OutputReader, TokenList } from "./outputs.ts";

/** The token the chain draws (argmax at temperature 0). */
export async function drawToken(reader: OutputReader, chain: ChainConfig): Promise<number> {
  const { token } = await reader.read({ chain });
  return checkDrawn(token);
}

export function checkDrawn(token: number | null): number {
  // Only a logit_bias of -100 on every token can leave nothing to draw.
  if (token === null) throw invalidRequest("logit_bias excludes every token.", "logit_bias");
  return token;
}

/**
 * Natural-log probabilities under the model's raw distribution (no bias, penalties or
 * temperature); under a grammar, of the raw distribution masked by it and renormalised (the
 * constrained distribution: a token the grammar refuses has none, -9999).
 */
export interface RawLogprobs {
  of(token: number): number;
  /** The `count` most probable tokens, highest first. */
  readonly top: { token: number; logprob: number }[];
}

/**
 * Raw logprobs of `tokens` and the `top` most probable: the argmax read gives the largest logit
 * and the total weight exp(logit - max) of the whole vocabulary; a top-k read lists the top.
 */
export async function rawLogprobs(reader: OutputReader, tokens: readonly number[], top: number, grammar?: GrammarState): Promise<RawLogprobs> {
  const masked = grammar === undefined ? {} : { grammar };
  const whole = await reader.read({ chain: { temperature: 0, ...masked }, logitsOf: tokens, includeSelected: true, totalWeight: true });
  const logits = new Map<number, number>();
  whole.logits?.tokens.forEach((token, i) => logits.set(token, whole.logits!.values[i]!));
  const max = logits.get(checkDrawn(whole.token))!;
  const logZ = max + Math.log(whole.totalWeight!);
  const listed = top > 0 ? await reader.read({ chain: { temperature: 1, topK: top, seed: 0, ...masked }, top }) : undefined;
  return {
    of: (token) => safeLog(logits.get(token), logZ),
    // A grammar may allow fewer tokens than asked for: the refused ones are not alternatives.
    top: Array.from(listed?.logits?.tokens ?? [], (token, i) => ({ token, logprob: safeLog(listed!.logits!.values[i], logZ) })).filter(({ logprob }) => logprob > -9999),
  };
}

/** log(0) would be -Infinity, which JSON cannot carry; OpenAI reports -9999 for that case. */
function safeLog(logit: number | undefined, logZ: number): number {
  if (logit === undefined || logit === -Infinity) return -9999;
  return Math.max(-9999, logit - logZ);
}

/** Added to marked tokens' logits: large enough to lift them above any other token that has mass. */
const MARK = 64;

/**
 * The chain's logits (after bias, penalties and temperature) of `tokens`, in any order; a token
 * below every other by more than MARK (probability < e^-64 of the top) may be left out. Cost
 * O(vocabulary log |tokens|): the tokens are lifted by MARK through the logit bias and listed
 * by a top-k read, then lowered again. Node-llama-cpp's own token filter costs O(vocabulary x
 * |tokens|). The repetition penalty divides positive logits and multiplies negative ones, so a
 * lift before it would not come off again: then the filter is used.
 */
export async function logitsOf(reader: OutputReader, chain: ChainConfig, tokens: readonly number[]): Promise<TokenList> {
  if (chain.penalties !== undefined && chain.penalties.repeat !== 1 && chain.penalties.tokens.length > 0) {
    const read = await reader.read({ chain, logitsOf: tokens });
    return read.logits!;
  }
  const lifted = new Map<number, number>();
  chain.bias?.tokens.forEach((token, i) => lifted.set(token, chain.bias!.values[i]!));
  for (const token of tokens) lifted.set(token, (lifted.get(token) ?? 0) + MARK);
  const marked: ChainConfig = {
    ...chain,
    topK: tokens.length,
    topP: 1,
    minP: 0,
    bias: { tokens: Uint32Array.from(lifted.keys()), values: Float32Array.from(lifted.values()) },
  };
  const listed = (await reader.read({ chain: marked, top: tokens.length })).logits!;
  const wanted = new Set(tokens);
  const kept: number[] = [];
  listed.tokens.forEach((token, i) => {
    if (wanted.has(token) && listed.values[i]! > -Infinity) kept.push(i);
  });
  const drop = MARK / (chain.temperature > 0 ? chain.temperature : 1);
  return { tokens: Int32Array.from(kept, (i) => listed.tokens[i]!), values: Float64Array.from(kept, (i) => listed.values[i]! - drop) };
}

/**
 * Natural-log probabilities of `tokens` under the chain's law (bias, penalties, truncation,
 * temperature > 0): -Infinity for a token the chain leaves no mass. A truncating chain lists its
 * few candidates with their probabilities; otherwise log p(x) = l(x) - max l - log sum exp(l - max l)
 * over the tempered logits l, from the argmax read (untempered, so divided by T), the total
 * weight and the tokens' own logits (logitsOf).
 */
export async function chainLogprobs(reader: OutputReader, chain: ChainConfig, tokens: readonly number[]): Promise<number[]> {
  if (chain.temperature <= 0) throw new RangeError("a chain at temperature 0 has no probabilities but the argmax");
  if (truncates(chain)) {
    const { candidates } = await reader.read({ chain, candidates: true });
    const probabilities = new Map<number, number>();
    candidates?.tokens.forEach((token, i) => probabilities.set(token, candidates.values[i]!));
    return tokens.map((token) => Math.log(probabilities.get(token) ?? 0));
  }
  const whole = await reader.read({ chain, totalWeight: true });
  const argmax = await reader.read({ chain: argmaxChain(chain), includeSelected: true });
  const top = argmax.logits!.values[argmax.logits!.tokens.indexOf(checkDrawn(argmax.token))]! / chain.temperature;
  const logZ = top + Math.log(whole.totalWeight!);
  const listed = await logitsOf(reader, chain, tokens);
  const logits = new Map<number, number>();
  listed.tokens.forEach((token, i) => logits.set(token, listed.values[i]!));
  return tokens.map((token) => (logits.get(token) ?? -Infinity) - logZ);
}
