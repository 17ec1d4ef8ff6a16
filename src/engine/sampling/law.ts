/**
 * The sampling law of native/chain.ts written out in JS over a whole row of raw logits: the
 * reference the native decoding paths are tested against (it costs O(vocabulary) per token,
 * so nothing serves with it).
 */
import type { ChainConfig } from "../native/chain.ts";

/** A next-token distribution: parallel arrays sorted by probability, highest first. */
export interface Distribution {
  readonly tokens: readonly number[];
  readonly probs: readonly number[];
}

/** The distribution the chain draws from, given the raw logits of every token. */
export function chainDistribution(rawLogits: ArrayLike<number>, chain: ChainConfig): Distribution {
  const logits = adjustedLogits(rawLogits, chain);
  const order = [...logits.keys()].filter((i) => logits[i]! > -Infinity).sort((a, b) => logits[b]! - logits[a]! || a - b);
  if (order.length === 0) return { tokens: [], probs: [] };
  if (chain.temperature === 0) return { tokens: [order[0]!], probs: [1] };
  let kept = order;
  if ((chain.topK ?? 0) > 0) kept = kept.slice(0, chain.topK);
  if ((chain.topP ?? 1) < 1) {
    const probs = softmax(kept.map((i) => logits[i]!));
    let cumulative = 0;
    let length = kept.length;
    for (let i = 0; i < kept.length; i++) {
      cumulative += probs[i]!;
      if (cumulative >= chain.topP!) {
        length = i + 1;
        break;
      }
    }
    kept = kept.slice(0, Math.max(1, length));
  }
  if ((chain.minP ?? 0) > 0) {
    const floor = logits[kept[0]!]! + Math.log(chain.minP!);
    kept = kept.filter((i, n) => n === 0 || logits[i]! >= floor);
  }
  return { tokens: kept, probs: softmax(kept.map((i) => logits[i]! / chain.temperature)) };
}

/** Raw logits after the logit bias and the penalties (steps 1-2 of the chain). */
export function adjustedLogits(rawLogits: ArrayLike<number>, chain: ChainConfig): Float64Array {
  const logits = Float64Array.from(rawLogits);
  const bias = chain.bias;
  if (bias !== undefined) bias.tokens.forEach((token, i) => (logits[token] = logits[token]! + bias.values[i]!));
  const penalties = chain.penalties;
  if (penalties !== undefined) {
    const counts = new Map<number, number>();
    for (const token of penalties.tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    for (const [token, count] of counts) {
      let value = logits[token]!;
      value = value <= 0 ? value * penalties.repeat : value / penalties.repeat;
      logits[token] = value - count * penalties.frequency - penalties.presence;
    }
  }
  return logits;
}

function softmax(logits: readonly number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((logit) => Math.exp(logit - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}
