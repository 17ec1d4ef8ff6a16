/** The token encoder's words: lower-cased runs of letters and digits ("don't" -> "don", "t"). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}
