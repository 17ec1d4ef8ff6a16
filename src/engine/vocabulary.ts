import type { LlamaModel } from "node-llama-cpp";

const longest = new WeakMap<object, number>();

/**
 * The most characters (UTF-16 code units) one token of the model's vocabulary can stand for:
 * the longest vocabulary string. That string is never shorter than the text the token
 * decodes to (byte-level BPE spells each byte as one character, SentencePiece spells a space
 * as one "▁", byte-fallback tokens as "<0xNN>"), so a text of C characters needs at least
 * C / longestTokenChars tokens. The service layer bounds prompts with it before tokenizing.
 */
export function longestTokenChars(weights: LlamaModel): number {
  let chars = longest.get(weights);
  if (chars === undefined) {
    chars = 1;
    for (const token of weights.fileInfo.metadata.tokenizer?.ggml?.tokens ?? []) chars = Math.max(chars, token.length);
    longest.set(weights, chars);
  }
  return chars;
}
