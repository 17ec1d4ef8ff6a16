import { randomUUID } from "node:crypto";
import { contextLengthExceeded, invalidRequest, modelNotFound } from "../protocol/errors.ts";
import type { RerankRequest, RerankResponse } from "../protocol/rerank.ts";
import type { Gateway } from "./gateway.ts";

/**
 * POST /v1/rerank (and /rerank, /v2/rerank): documents sorted by the chosen reranker's score.
 * Everything is checked before the scoring is admitted (the scheduler, against the rerank slots:
 * a full queue answers 429), so a refused request neither waits nor stores anything.
 */
export async function rerank(gateway: Gateway, request: RerankRequest, clientSignal: AbortSignal): Promise<RerankResponse> {
  const reranker = gateway.servingRerankers().get(request.model);
  if (reranker === undefined) throw modelNotFound(request.model);
  const { maxDocuments, maxDocumentTokens } = gateway.config.rerank;
  if (request.documents.length > maxDocuments) throw invalidRequest(`${request.documents.length} documents; at most ${maxDocuments} (RERANK_MAX_DOCUMENTS).`, "documents");
  const texts = request.documents.map((document, i) => documentText(document, request.rank_fields, i));
  const limit = Math.min(maxDocumentTokens, request.max_tokens_per_doc ?? Infinity);
  const queryTokens = await reranker.countTokens(request.query);
  if (queryTokens > maxDocumentTokens) throw contextLengthExceeded(`The query has ${queryTokens} tokens; at most ${maxDocumentTokens}.`, "query");
  const counts = await Promise.all(texts.map((text) => reranker.countTokens(text)));
  const over = counts.findIndex((count) => count > limit);
  if (over >= 0 && request.truncate === false) throw contextLengthExceeded(`Document ${over} has ${counts[over]} tokens; at most ${limit} without truncation.`, `documents[${over}]`);
  const scores = await gateway.scheduler.run(gateway.rerankSlots, 1, clientSignal, (lease) => {
    gateway.metrics.queueTime.observe({ model_name: reranker.id }, lease.queuedSeconds);
    return reranker.score(request.query, texts, limit, lease.signal);
  });
  const order = scores.map((score, index) => ({ index, score })).sort((a, b) => b.score - a.score || a.index - b.index);
  const returnDocuments = request.return_documents ?? true;
  return {
    id: randomUUID(),
    object: "rerank",
    model: reranker.id,
    results: order.slice(0, request.top_n ?? order.length).map(({ index, score }) => ({
      index,
      relevance_score: score,
      ...(returnDocuments ? { document: { text: texts[index]! } } : {}),
    })),
    usage: { total_tokens: queryTokens + counts.reduce((sum, count) => sum + Math.min(count, limit), 0), truncated_documents: counts.filter((count) => count > limit).length },
    meta: { api_version: { version: "1" }, billed_units: { search_units: 1 } },
  };
}

/** A document's text: the string, its `text`, or Cohere's `rank_fields` joined as "field: value" lines. */
function documentText(document: RerankRequest["documents"][number], rankFields: readonly string[] | null | undefined, index: number): string {
  if (typeof document === "string") return document;
  const fields = rankFields ?? ["text"];
  const lines = fields.map((field) => {
    const value = document[field];
    if (typeof value !== "string") throw invalidRequest(`Document ${index} has no string field \`${field}\`.`, `documents[${index}].${field}`);
    return fields.length === 1 ? value : `${field}: ${value}`;
  });
  return lines.join("\n");
}
