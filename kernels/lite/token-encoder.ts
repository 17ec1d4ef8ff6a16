import type { TokenMatrix } from "./token-matrix.ts";

/**
 * Which document tokens a LITE scorer stores and reads: the first documentLength, or the first
 * POOLED_READ x documentLength tokens averaged in contiguous runs down to documentLength vectors.
 * (Keeping the documentLength least frequent distinct words instead lost 11 points of MRR@10 on
 * the held-out split, 0.157 against 0.265; pooling keeps every token's contribution.)
 */
export type DocumentTokens = "first" | "pooled";

/** How many tokens a pooled form reads per stored vector: the paper's quarter of the tokens. */
export const POOLED_READ = 4;

/**
 * A frozen token encoder: per-token unit vectors of a text, as LITE, MaxSim and the dual
 * encoder read them. Word vectors (word-vectors.ts) and a llama GGUF's hidden states
 * (transformer-encoder.ts) are the two kinds.
 */
export interface TokenEncoder {
  readonly dimensions: number;
  /** A digest of everything that changes the vectors: part of every document-token cache key. */
  readonly id: string;
  /** Tokens of a text as this encoder counts them. */
  countTokens(text: string): number;
  /** Vectors of the text's first maxTokens tokens. */
  encode(text: string, maxTokens: number): TokenMatrix;
  /** A scorer's stored document form, from the text's first maxTokens tokens (at most `length` vectors). */
  encodeDocument(text: string, maxTokens: number, length: number, mode: DocumentTokens): TokenMatrix;
}
