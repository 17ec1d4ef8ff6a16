/** The token encoder's words: lower-cased runs of letters and digits ("don't" -> "don", "t"). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The text up to the end of its maxTokens-th word (the whole text when it has no more). */
export function cutWords(text: string, maxTokens: number): string {
  let count = 0;
  for (const match of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    if (++count === maxTokens) return text.slice(0, match.index + match[0].length);
  }
  return text;
}
