import { existsSync, readFileSync } from "node:fs";
import type { Logger } from "pino";
import { decodeLiteArtifact, type LiteEncoderEntry } from "../../kernels/lite/artifact.ts";
import type { TokenEncoder } from "../../kernels/lite/token-encoder.ts";
import { loadTransformerEncoder } from "../../kernels/lite/transformer-encoder.ts";
import { Bm25Reranker } from "./bm25-reranker.ts";
import type { DocumentTokenCache } from "./document-token-cache.ts";
import type { Reranker } from "./reranker.ts";
import { DualEncoderReranker, LiteReranker, MaxSimReranker } from "./token-rerankers.ts";

/**
 * The rerankers that need no GGUF reranker: `bm25` always; with a LITE artifact (RERANK_ARTIFACT)
 * each of its scorers under its own name (`lite`, `lite-quarter`), and `maxsim` and
 * `dual-encoder` over the artifact's token encoder (word vectors, or a GGUF's hidden states).
 * LITE scorers keep their documents' stored form in `cache` when one is given.
 * memoEntries: how many encoded texts a transformer encoder keeps (the bench reads each passage many times).
 */
export async function loadTokenRerankers(artifactPath: string, logger: Logger, cache?: DocumentTokenCache, memoEntries = 0): Promise<Reranker[]> {
  const rerankers: Reranker[] = [new Bm25Reranker("bm25")];
  if (artifactPath === "" || !existsSync(artifactPath)) {
    if (artifactPath !== "") logger.warn({ path: artifactPath }, "LITE artifact not found; only bm25 and GGUF rerankers are served");
    return rerankers;
  }
  const artifact = decodeLiteArtifact(readFileSync(artifactPath));
  const encoder = await loadEncoder(artifact.encoder, memoEntries);
  const stored = cache === undefined ? undefined : { cache, encoderId: encoder.id };
  for (const entry of artifact.scorers) rerankers.push(new LiteReranker(entry.name, encoder, entry, stored));
  rerankers.push(new MaxSimReranker("maxsim", encoder), new DualEncoderReranker("dual-encoder", encoder));
  logger.info({ path: artifactPath, encoder: artifact.encoder.name, rerankers: rerankers.map((r) => r.id) }, "rerankers loaded");
  return rerankers;
}

function loadEncoder(entry: LiteEncoderEntry, memoEntries: number): Promise<TokenEncoder> {
  return "vectors" in entry ? Promise.resolve(entry.vectors) : loadTransformerEncoder(entry.transformer, memoEntries);
}
