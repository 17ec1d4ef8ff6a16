import type { DecodedToken } from "../engine/decoding/strategy.ts";
import type { ServedModel } from "../engine/served-model.ts";
import type { ChatTokenLogprob } from "../protocol/chat.ts";
import type { CompletionLogprobs } from "../protocol/completions.ts";

/** The completions-style logprobs object; offsets count from `startOffset` in the choice's text. */
export function completionLogprobs(model: ServedModel, tokens: readonly DecodedToken[], startOffset: number): CompletionLogprobs {
  const result: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let offset = startOffset;
  for (const decoded of tokens) {
    const text = model.detokenize([decoded.token]);
    result.tokens.push(text);
    result.token_logprobs.push(decoded.logprob);
    result.top_logprobs.push(decoded.top === null ? null : Object.fromEntries(decoded.top.map((entry) => [model.detokenize([entry.token]), entry.logprob])));
    result.text_offset.push(offset);
    offset += text.length;
  }
  return result;
}

export function chatLogprobs(model: ServedModel, tokens: readonly DecodedToken[]): ChatTokenLogprob[] {
  return tokens.map((decoded) => {
    const text = model.detokenize([decoded.token]);
    return {
      token: text,
      logprob: decoded.logprob ?? 0,
      bytes: [...Buffer.from(text, "utf8")],
      top_logprobs: (decoded.top ?? []).map((entry) => {
        const alternative = model.detokenize([entry.token]);
        return { token: alternative, logprob: entry.logprob, bytes: [...Buffer.from(alternative, "utf8")] };
      }),
    };
  });
}
