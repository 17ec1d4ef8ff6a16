/**
 * The questions decoding asks of one output, each a few native reads (outputs.ts), none
 * costing JS time proportional to the vocabulary.
 */
import { invalidRequest } from "../../protocol/errors.ts";
import type { ChainConfig } from "./chain.ts";
import type { OutputReader } from "./outputs.ts";

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

/** Natural-log probabilities under the model's raw distribution (no bias, penalties or temperature). */
export interface RawLogprobs {
  of(token: number): number;
  /** The `count` most probable tokens, highest first. */
  readonly top: { token: number; logprob: number }[];
}

const rawArgmax: ChainConfig = { temperature: 0 };

/**
 * Raw logprobs of `tokens` and the `top` most probable: the argmax read gives the largest logit
 * and the total weight exp(logit - max) of the whole vocabulary; a top-k read lists the top.
 */
export async function rawLogprobs(reader: OutputReader, tokens: readonly number[], top: number): Promise<RawLogprobs> {
  const whole = await reader.read({ chain: rawArgmax, logitsOf: tokens, includeSelected: true, totalWeight: true });
  const logits = new Map<number, number>();
  whole.logits?.tokens.forEach((token, i) => logits.set(token, whole.logits!.values[i]!));
  const max = logits.get(checkDrawn(whole.token))!;
  const logZ = max + Math.log(whole.totalWeight!);
  const listed = top > 0 ? await reader.read({ chain: { temperature: 1, topK: top, seed: 0 }, top }) : undefined;
  return {
    of: (token) => safeLog(logits.get(token), logZ),
    top: Array.from(listed?.logits?.tokens ?? [], (token, i) => ({ token, logprob: safeLog(listed!.logits!.values[i], logZ) })),
  };
}

/** log(0) would be -Infinity, which JSON cannot carry; OpenAI reports -9999 for that case. */
function safeLog(logit: number | undefined, logZ: number): number {
  if (logit === undefined || logit === -Infinity) return -9999;
  return Math.max(-9999, logit - logZ);
}
