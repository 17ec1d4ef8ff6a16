import { Bm25Index } from "../../kernels/lite/bm25.ts";
import { cutWords, words } from "../../kernels/lite/words.ts";
import type { Reranker } from "./reranker.ts";
import { Slices } from "./slices.ts";

/** BM25 (wink-bm25-text-search) with the request's documents as the collection its IDF is taken over. */
export class Bm25Reranker implements Reranker {
  readonly method = "bm25" as const;
  readonly created = Math.floor(Date.now() / 1000);

  constructor(readonly id: string) {}

  async countTokens(text: string): Promise<number> {
    return words(text).length;
  }

  /** Indexing is most of the cost (~0.2 ms a document): it goes in slices, so the event loop is not held. */
  async score(query: string, documents: readonly string[], maxTokens: number, signal?: AbortSignal): Promise<number[]> {
    const slices = new Slices(signal);
    const index = new Bm25Index();
    for (const text of documents) {
      await slices.next();
      index.add(cutWords(text, maxTokens));
    }
    index.consolidate();
    return index.scores(query);
  }
}
