/**
 * Learns a GPT-2-style byte-level BPE vocabulary from text: the 256 byte symbols, then
 * merges in order of frequency (ties broken by the smaller pair id, so it is
 * deterministic). Pre-tokenization follows llama.cpp's `smollm` pre-type: GPT-2's pattern with
 * digits split one by one, and no clean-up of spaces on decoding, so any text round-trips.
 */
import { TOKEN_TYPE, type TokenizerSpec } from "./gguf-tokenizer.ts";

/** llama.cpp's `smollm` pre-tokenizer: single digits, then GPT-2's pattern. */
const PRE_TOKENIZER_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
export const END_OF_TEXT = "<|endoftext|>";

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 onwards. */
export function byteToUnicode(): string[] {
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCodePoint(printable ? b : 256 + extra++);
  }
  return table;
}

function countWords(texts: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const match of text.matchAll(PRE_TOKENIZER_PATTERN)) counts.set(match[0], (counts.get(match[0]) ?? 0) + 1);
  }
  return counts;
}

const pairKey = (a: number, b: number): number => a * 65536 + b;

export function trainBpe(texts: Iterable<string>, vocabSize: number): TokenizerSpec {
  const byteChars = byteToUnicode();
  const symbols: string[] = [...byteChars];
  const encoder = new TextEncoder();
  const words: number[][] = [];
  const frequencies: number[] = [];
  for (const [word, count] of countWords(texts)) {
    words.push([...encoder.encode(word)]);
    frequencies.push(count);
  }
  const pairCounts = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (w: number, sign: number): void => {
    const word = words[w]!;
    for (let i = 0; i + 1 < word.length; i++) {
      const key = pairKey(word[i]!, word[i + 1]!);
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + sign * frequencies[w]!);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(w);
      }
    }
  };
  words.forEach((_, w) => addPairs(w, 1));

  const merges: string[] = [];
  const mergeCount = vocabSize - 256 - 1;
  while (merges.length < mergeCount) {
    let bestKey = -1;
    let bestCount = 0;
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && key < bestKey)) {
        bestKey = key;
        bestCount = count;
      }
    }
    if (bestCount < 2) break;
    const left = Math.floor(bestKey / 65536);
    const right = bestKey % 65536;
    const merged = symbols.length;
    symbols.push(symbols[left]! + symbols[right]!);
    merges.push(`${symbols[left]} ${symbols[right]}`);
    for (const w of pairWords.get(bestKey) ?? []) {
      addPairs(w, -1);
      const word = words[w]!;
      const next: number[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === left && word[i + 1] === right) {
          next.push(merged);
          i++;
        } else {
          next.push(word[i]!);
        }
      }
      words[w] = next;
      addPairs(w, 1);
    }
    pairWords.delete(bestKey);
    pairCounts.delete(bestKey);
  }
  const tokens = [...symbols, END_OF_TEXT];
  const tokenTypes = tokens.map((_, i) => (i === tokens.length - 1 ? TOKEN_TYPE.control : TOKEN_TYPE.normal));
  const eos = tokens.length - 1;
  return { tokens, tokenTypes, merges, eosId: eos, bosId: eos };
}
