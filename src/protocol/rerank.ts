import { z } from "zod";

/** A document as Cohere v1 accepts it: a string, or an object with `text` (other fields ranked with `rank_fields`). */
const document = z.union([z.string(), z.looseObject({ text: z.string().optional() })]);

/**
 * POST /v1/rerank (Jina and Cohere v1 shape; /v2/rerank is Cohere v2's, a subset). Cohere's
 * `max_chunks_per_doc` is accepted: every document is one chunk here (cut at the token limit).
 * `truncate` is ours: false answers 400 for a document over the limit instead of cutting it.
 */
export const rerankRequestSchema = z.strictObject({
  model: z.string().min(1),
  query: z.string().refine((query) => query.trim().length > 0, "must not be empty"),
  documents: z.array(document).min(1, "must hold at least one document"),
  top_n: z.number().int().min(1).nullish(),
  return_documents: z.boolean().nullish(),
  rank_fields: z.array(z.string().min(1)).min(1).nullish(),
  max_chunks_per_doc: z.number().int().min(1).nullish(),
  max_tokens_per_doc: z.number().int().min(1).nullish(),
  truncate: z.boolean().nullish(),
  user: z.string().nullish(),
});

export type RerankRequest = z.infer<typeof rerankRequestSchema>;

export interface RerankResult {
  index: number;
  relevance_score: number;
  document?: { text: string };
}

export interface RerankResponse {
  id: string;
  object: "rerank";
  model: string;
  results: RerankResult[];
  /** Jina's usage; `truncated_documents` is ours: how many documents were cut at the token limit. */
  usage: { total_tokens: number; truncated_documents: number };
  /** Cohere's response metadata (its SDKs read it). */
  meta: { api_version: { version: string }; billed_units: { search_units: number } };
}
