import type { TextExample } from "./inverse-cloze.ts";
import type { LiteShape } from "./scorer.ts";
import type { TokenMatrix } from "./token-matrix.ts";
import type { RankingExample } from "./train.ts";
import { salientWords, type WordVectors } from "./word-vectors.ts";
import { words } from "./words.ts";

/** Which document tokens a scorer reads: the first documentLength, or the salient reduced form. */
export type DocumentTokens = "first" | "salient";

export function documentWords(text: string, shape: LiteShape, mode: DocumentTokens, encoder: WordVectors): string[] {
  const all = words(text);
  return mode === "salient" ? salientWords(all, shape.documentLength, (word) => encoder.rank(word)) : all.slice(0, shape.documentLength);
}

/** Token matrices of text examples for one scorer shape; a passage shared by examples is encoded once. */
export function encodeExamples(examples: readonly TextExample[], shape: LiteShape, mode: DocumentTokens, encoder: WordVectors): RankingExample[] {
  const cache = new Map<string, TokenMatrix>();
  const document = (text: string): TokenMatrix => {
    let matrix = cache.get(text);
    if (matrix === undefined) cache.set(text, (matrix = encoder.encodeWords(documentWords(text, shape, mode, encoder))));
    return matrix;
  };
  return examples.map((example) => ({ query: encoder.encodeWords(words(example.query).slice(0, shape.queryLength)), candidates: example.candidates.map(document) }));
}
