/** How a reranker scores: LITE, its baselines, or a GGUF cross-encoder through node-llama-cpp. */
export type RerankMethod = "lite" | "maxsim" | "dual-encoder" | "bm25" | "gguf";

/** One served reranker (model kind `ranking`). */
export interface Reranker {
  readonly id: string;
  readonly method: RerankMethod;
  readonly created: number;
  /** Tokens of a text as this reranker counts them (its encoder's tokens). */
  countTokens(text: string): Promise<number>;
  /** A relevance score per document, in order, reading at most `maxTokens` tokens of each; stops when `signal` aborts. */
  score(query: string, documents: readonly string[], maxTokens: number, signal?: AbortSignal): Promise<number[]>;
}
