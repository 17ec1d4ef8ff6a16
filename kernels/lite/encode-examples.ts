import type { TextExample } from "./inverse-cloze.ts";
import type { LiteShape } from "./scorer.ts";
import type { DocumentTokens, TokenEncoder } from "./token-encoder.ts";
import type { TokenMatrix } from "./token-matrix.ts";
import type { RankingExample } from "./train.ts";

/** Token matrices of text examples for one scorer shape; a passage shared by examples is encoded once. */
export function encodeExamples(examples: readonly TextExample[], shape: LiteShape, mode: DocumentTokens, encoder: TokenEncoder): RankingExample[] {
  const cache = new Map<string, TokenMatrix>();
  const document = (text: string): TokenMatrix => {
    let matrix = cache.get(text);
    if (matrix === undefined) cache.set(text, (matrix = encoder.encodeDocument(text, Infinity, shape.documentLength, mode)));
    return matrix;
  };
  return examples.map((example) => ({ query: encoder.encode(example.query, shape.queryLength), candidates: example.candidates.map(document) }));
}
