import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { Logger } from "pino";
import { decodeLiteArtifact } from "../../kernels/lite/artifact.ts";
import type { WordVectors } from "../../kernels/lite/word-vectors.ts";
import { Bm25Reranker } from "./bm25-reranker.ts";
import type { DocumentTokenCache } from "./document-token-cache.ts";
import type { Reranker } from "./reranker.ts";
import { DualEncoderReranker, LiteReranker, MaxSimReranker } from "./token-rerankers.ts";

/**
 * The rerankers that need no llama.cpp: `bm25` always; with a LITE artifact (RERANK_ARTIFACT)
 * each of its scorers under its own name (`lite`, `lite-quarter`), and `maxsim` and
 * `dual-encoder` over the artifact's token encoder. LITE scorers keep their documents' stored
 * form in `cache` when one is given.
 */
export function loadTokenRerankers(artifactPath: string, logger: Logger, cache?: DocumentTokenCache): Reranker[] {
  const rerankers: Reranker[] = [new Bm25Reranker("bm25")];
  if (artifactPath === "" || !existsSync(artifactPath)) {
    if (artifactPath !== "") logger.warn({ path: artifactPath }, "LITE artifact not found; only bm25 and GGUF rerankers are served");
    return rerankers;
  }
  const artifact = decodeLiteArtifact(readFileSync(artifactPath));
  const encoder = artifact.encoder.vectors;
  const stored = cache === undefined ? undefined : { cache, encoderId: encoderId(encoder) };
  for (const entry of artifact.scorers) rerankers.push(new LiteReranker(entry.name, encoder, entry, stored));
  rerankers.push(new MaxSimReranker("maxsim", encoder), new DualEncoderReranker("dual-encoder", encoder));
  logger.info({ path: artifactPath, encoder: artifact.encoder.name, rerankers: rerankers.map((r) => r.id) }, "rerankers loaded");
  return rerankers;
}

/** The encoder's identity in cache keys: a digest of its words and rows, so two artifacts share stored documents only when their encoders are the same. */
function encoderId(encoder: WordVectors): string {
  const hash = createHash("sha256").update(JSON.stringify([encoder.words, encoder.dimensions]));
  hash.update(new Uint8Array(encoder.rows.buffer, encoder.rows.byteOffset, encoder.rows.byteLength));
  return hash.digest("hex").slice(0, 16);
}
