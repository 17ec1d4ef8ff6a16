import { Bm25Index } from "../../kernels/lite/bm25.ts";
import { cutWords, words } from "../../kernels/lite/words.ts";
import type { Reranker } from "./reranker.ts";

/** BM25 (wink-bm25-text-search) with the request's documents as the collection its IDF is taken over. */
export class Bm25Reranker implements Reranker {
  readonly method = "bm25" as const;
  readonly created = Math.floor(Date.now() / 1000);

  constructor(readonly id: string) {}

  async countTokens(text: string): Promise<number> {
    return words(text).length;
  }

  async score(query: string, documents: readonly string[], maxTokens: number): Promise<number[]> {
    return new Bm25Index(documents.map((text) => cutWords(text, maxTokens))).scores(query);
  }
}
