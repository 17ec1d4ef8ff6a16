import type { DecodedToken } from "../engine/decoding/strategy.ts";
import type { ServedModel } from "../engine/served-model.ts";
import type { TextOffsets } from "../engine/text/token-bytes.ts";
import type { ChatTokenLogprob } from "../protocol/chat.ts";
import type { CompletionLogprobs } from "../protocol/completions.ts";

/**
 * The completions-style logprobs object. `offsets` is the choice's own TextOffsets (fed every
 * token of the choice in order, across streamed chunks), so text_offset indexes the choice's
 * text even where a character spans tokens.
 */
export function completionLogprobs(model: ServedModel, tokens: readonly DecodedToken[], offsets: TextOffsets): CompletionLogprobs {
  const result: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const decoded of tokens) {
    result.tokens.push(model.detokenize([decoded.token]));
    result.token_logprobs.push(decoded.logprob);
    result.top_logprobs.push(decoded.top === null ? null : Object.fromEntries(decoded.top.map((entry) => [model.detokenize([entry.token]), entry.logprob])));
    result.text_offset.push(offsets.push(model.tokenBytes(decoded.token)));
  }
  return result;
}

/** Chat logprobs; `bytes` are each token's own bytes, which concatenate to the text's UTF-8. */
export function chatLogprobs(model: ServedModel, tokens: readonly DecodedToken[]): ChatTokenLogprob[] {
  return tokens.map((decoded) => ({
    token: model.detokenize([decoded.token]),
    logprob: decoded.logprob ?? 0,
    bytes: [...model.tokenBytes(decoded.token)],
    top_logprobs: (decoded.top ?? []).map((entry) => ({ token: model.detokenize([entry.token]), logprob: entry.logprob, bytes: [...model.tokenBytes(entry.token)] })),
  }));
}
