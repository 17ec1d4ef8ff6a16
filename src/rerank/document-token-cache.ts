import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Metrics } from "../metrics/metrics.ts";
import type { Store } from "../store/store.ts";

export interface DocumentTokenCacheOptions {
  /** The most bytes of stored documents alive at once (RERANK_CACHE_MAX_BYTES); 0 turns the cache off. */
  maxBytes: number;
  /** How long a stored document lives (RERANK_CACHE_TTL_SECONDS). */
  ttlMs: number;
}

const prefix = "rerank:tokens:";

/**
 * The document-token cache: a reranker's stored form of a document (LITE's reduced token
 * vectors) in the store, so a document seen before, by this replica or another on the same
 * Redis, is not encoded again. Keys name the form (encoder, reduction, length limit) and the
 * sha256 of the text.
 *
 * Bounded in both stores the same way: every entry expires after the ttl, and writes reserve
 * their bytes from a counter per ttl-long window that allows maxBytes / 2; an entry written in
 * one window has expired by the end of the next, so at most maxBytes of entries are alive.
 * Once a window's allowance is spent, new documents are scored without being stored.
 *
 * A store error never fails a rerank: it is counted, logged once per outage, and the
 * documents are computed as if not cached.
 */
export class DocumentTokenCache {
  private failing = false;

  constructor(
    private readonly store: Store,
    private readonly options: DocumentTokenCacheOptions,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.options.maxBytes > 0;
  }

  /** The key of `text`'s stored form; `form` names everything that changes it but the text. */
  key(form: string, text: string): string {
    return `${prefix}${form}:${createHash("sha256").update(text).digest("hex")}`;
  }

  /** The stored forms under `keys`, null where absent (all null when the store fails); counted as hits and misses of `model`. */
  async lookup(model: string, keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    const found = (await this.attempt(model, () => this.store.getManyBytes(keys))) ?? keys.map(() => null);
    const hits = found.filter((bytes) => bytes !== null).length;
    this.metrics.rerankCacheHits.inc({ model_name: model }, hits);
    this.metrics.rerankCacheMisses.inc({ model_name: model }, keys.length - hits);
    return found;
  }

  /** Stores what `model` computed, as far as this window's allowance goes. */
  async save(model: string, entries: ReadonlyMap<string, Uint8Array>): Promise<void> {
    if (entries.size === 0) return;
    const total = [...entries.values()].reduce((sum, bytes) => sum + bytes.length, 0);
    await this.attempt(model, async () => {
      const budget = `${prefix}budget:${Math.floor(Date.now() / this.options.ttlMs)}`;
      await this.store.setIfAbsent(budget, "0", { ttlMs: 2 * this.options.ttlMs });
      let allowed = Math.floor(this.options.maxBytes / 2) - ((await this.store.increment(budget, total)) - total);
      const kept: [string, Uint8Array][] = [];
      for (const entry of entries) {
        if (entry[1].length > allowed) continue;
        allowed -= entry[1].length;
        kept.push(entry);
      }
      const keptBytes = kept.reduce((sum, [, bytes]) => sum + bytes.length, 0);
      if (keptBytes < total) await this.store.increment(budget, keptBytes - total);
      this.metrics.rerankCacheSkipped.inc({ model_name: model }, entries.size - kept.length);
      await Promise.all(kept.map(([key, bytes]) => this.store.setBytes(key, bytes, { ttlMs: this.options.ttlMs })));
      for (const [, bytes] of kept) this.metrics.rerankCacheDocumentBytes.observe({ model_name: model }, bytes.length);
    });
  }

  private async attempt<T>(model: string, operation: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await operation();
      if (this.failing) this.logger.info("document-token cache: the store answers again");
      this.failing = false;
      return result;
    } catch (error) {
      this.metrics.rerankCacheErrors.inc({ model_name: model });
      if (!this.failing) this.logger.warn({ err: error }, "document-token cache: the store failed; reranking without the cache until it answers");
      this.failing = true;
      return undefined;
    }
  }
}
