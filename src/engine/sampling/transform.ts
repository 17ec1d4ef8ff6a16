import type { Distribution } from "./distribution.ts";
import type { SamplingParams } from "./params.ts";

/**
 * The request's sampling transforms as one pure function over a distribution: penalties,
 * logit bias, temperature, then top-k, top-p and min-p truncation, renormalised. Any decoding
 * strategy (plain, speculative on a draft and a target) applies exactly this to every
 * distribution it samples from, so they all sample the same law.
 *
 * `history` is the tokens generated so far (penalties count only generated tokens, as OpenAI does).
 * Temperature 0 collapses to the single most probable token after penalties and bias.
 */
export function applySampling(distribution: Distribution, params: SamplingParams, history: readonly number[]): Distribution {
  const counts = countTokens(history);
  const logits = distribution.tokens.map((token, i) => adjustLogit(token, Math.log(distribution.probs[i]!), params, counts));
  const order = [...logits.keys()].filter((i) => logits[i]! > -Infinity).sort((a, b) => logits[b]! - logits[a]!);
  if (order.length === 0) return { tokens: [], probs: [] };
  if (params.temperature === 0) return { tokens: [distribution.tokens[order[0]!]!], probs: [1] };
  const scaled = order.map((i) => logits[i]! / params.temperature);
  const probs = softmax(scaled);
  const kept = truncatedLength(probs, params);
  return normalise(order.slice(0, kept).map((i) => distribution.tokens[i]!), probs.slice(0, kept));
}

function adjustLogit(token: number, logit: number, params: SamplingParams, counts: ReadonlyMap<number, number>): number {
  let value = logit;
  const count = counts.get(token) ?? 0;
  if (count > 0) {
    if (params.repetitionPenalty !== 1) value = value > 0 ? value / params.repetitionPenalty : value * params.repetitionPenalty;
    value -= count * params.frequencyPenalty + params.presencePenalty;
  }
  const bias = params.logitBias.get(token);
  if (bias !== undefined) value = bias <= -100 ? -Infinity : value + bias;
  return value;
}

function countTokens(tokens: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  return counts;
}

function softmax(logits: readonly number[]): number[] {
  const max = logits[0]!;
  const exps = logits.map((logit) => Math.exp(logit - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((value) => value / sum);
}

/** How many of the (descending) probabilities survive top-k, top-p and min-p. */
function truncatedLength(probs: readonly number[], params: SamplingParams): number {
  let kept = params.topK > 0 ? Math.min(params.topK, probs.length) : probs.length;
  if (params.topP < 1) {
    let cumulative = 0;
    for (let i = 0; i < kept; i++) {
      cumulative += probs[i]!;
      if (cumulative >= params.topP) {
        kept = i + 1;
        break;
      }
    }
  }
  if (params.minP > 0) {
    const floor = params.minP * probs[0]!;
    let i = 1;
    while (i < kept && probs[i]! >= floor) i++;
    kept = i;
  }
  return Math.max(1, kept);
}

function normalise(tokens: number[], probs: number[]): Distribution {
  const sum = probs.reduce((a, b) => a + b, 0);
  return { tokens, probs: probs.map((p) => p / sum) };
}
