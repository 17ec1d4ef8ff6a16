/**
 * The document-token cache (src/rerank/document-token-cache.ts) on real gateways: in the
 * in-process store, and in a real redis-server shared by two replicas (the second hits what the
 * first stored); a cached result equals the uncached one exactly; a refused request stores
 * nothing; the byte allowance bounds what is stored; /metrics counts hits, misses and bytes per
 * document; a store that fails does not fail the rerank.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeLiteArtifact } from "../kernels/lite/artifact.ts";
import { words } from "../kernels/lite/words.ts";
import { createLogger } from "../src/logging/logger.ts";
import { Metrics } from "../src/metrics/metrics.ts";
import { DocumentTokenCache } from "../src/rerank/document-token-cache.ts";
import { LiteReranker } from "../src/rerank/token-rerankers.ts";
import { MemoryStore } from "../src/store/memory-store.ts";
import { metric, postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conforms } from "./openapi-validator.ts";
import { startControlledRedis, type ControlledRedis } from "./redis-harness.ts";
import { artifactWordVectors, tinyLiteShape, writeTinyLiteArtifact } from "./rerank-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "rerank-cache-"));
const artifactPath = join(dir, "lite.bin");
writeTinyLiteArtifact(artifactPath);
const artifact = decodeLiteArtifact(readFileSync(artifactPath));
const dimensions = artifactWordVectors(artifact).dimensions;
after(() => rmSync(dir, { recursive: true, force: true }));

const query = "the president and congress";
const documents = [
  "a whale and a ship on the sea",
  "the president spoke to congress about money",
  "the captain of the ship",
  "congress debated war and peace and money and the president",
  "a whale and a ship on the sea",
];
const distinct = [...new Set(documents)];

interface Ranked {
  results: { index: number; relevance_score: number }[];
}

async function rerank(gateway: TestGateway, model: string, body: Record<string, unknown> = {}): Promise<number[]> {
  const ranked = (await conforms("/v1/rerank", "post", await postJson(`${gateway.url}/v1/rerank`, { model, query, documents, return_documents: false, ...body }))) as Ranked;
  return ranked.results.sort((a, b) => a.index - b.index).map((result) => result.relevance_score);
}

/** The scores of the artifact's scorer with no cache at all, for `limit` tokens per document. */
function uncached(scorer: 0 | 1, limit = 512): Promise<number[]> {
  return new LiteReranker("reference", artifactWordVectors(artifact), artifact.scorers[scorer]!).score(query, documents, limit);
}

/** A histogram's _count or _sum summed over its labels: 0 before its first observation (it has no rows then). */
async function histogramPart(url: string, name: string, part: "count" | "sum"): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  assert.ok(text.includes(`# TYPE ${name} histogram`), `${name} missing from /metrics`);
  return text.split("\n").filter((row) => row.startsWith(`${name}_${part}{`)).reduce((sum, row) => sum + Number(row.slice(row.lastIndexOf(" ") + 1)), 0);
}

const counts = async (url: string) => ({
  hits: await metric(url, "rerank_document_cache_hits_total"),
  misses: await metric(url, "rerank_document_cache_misses_total"),
  stored: await histogramPart(url, "rerank_document_cache_document_bytes", "count"),
  bytes: await histogramPart(url, "rerank_document_cache_document_bytes", "sum"),
});

/** Bytes of a document's stored form for a scorer reading the first `length` words: halves of every token vector. */
const storedBytes = (text: string, length: number) => Math.min(words(text).length, length) * dimensions * 2;

describe("in the in-process store", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startTestGateway({ RERANK_ARTIFACT: artifactPath, RERANK_MAX_DOCUMENTS: "5", RERANK_MAX_DOCUMENT_TOKENS: "12" });
  });
  after(async () => {
    await gateway?.close();
  });

  it("stores each distinct document once, then answers from the cache with exactly the uncached scores", async () => {
    const before = await counts(gateway.url);
    const cold = await rerank(gateway, "lite");
    const afterCold = await counts(gateway.url);
    assert.equal(afterCold.misses - before.misses, documents.length);
    assert.equal(afterCold.hits - before.hits, 0);
    assert.equal(afterCold.stored - before.stored, distinct.length, "the repeated document is stored once");
    const expectedBytes = distinct.reduce((sum, text) => sum + storedBytes(text, 12), 0);
    assert.equal(afterCold.bytes - before.bytes, expectedBytes, "bytes per stored document: its tokens x dimensions x 2");

    const warm = await rerank(gateway, "lite");
    const afterWarm = await counts(gateway.url);
    assert.equal(afterWarm.hits - afterCold.hits, documents.length);
    assert.equal(afterWarm.misses - afterCold.misses, 0);
    assert.deepEqual(warm, cold);
    assert.deepEqual(cold, await uncached(0, 12), "the gateway's scores are the scorer's without any cache");
  });

  it("keys the stored form by the reduction and the length limit", async () => {
    const before = await counts(gateway.url);
    const quarter = await rerank(gateway, "lite-quarter");
    const afterQuarter = await counts(gateway.url);
    assert.equal(afterQuarter.hits - before.hits, 0, "lite-quarter's pooled form is not lite's");
    assert.deepEqual(quarter, await uncached(1, 12));
    const cut = await rerank(gateway, "lite", { max_tokens_per_doc: 3 });
    const afterCut = await counts(gateway.url);
    assert.equal(afterCut.hits - afterQuarter.hits, 0, "a 3-token limit reads other tokens");
    assert.deepEqual(cut, await uncached(0, 3));
  });

  it("stores nothing from a refused request", async () => {
    const store = gateway.server.gateway.store;
    const keys = await store.keys("rerank:tokens:");
    const before = await counts(gateway.url);
    const fresh = ["never seen whale", "never seen ship ".repeat(10)];
    for (const body of [
      { model: "lite", query, documents: fresh, truncate: false },
      { model: "lite", query, documents: [...fresh, "a", "b", "c", "d"] },
      { model: "lite", query: "q ".repeat(13), documents: fresh },
      { model: "lite", query, documents: [...fresh, 7] },
    ]) {
      const response = await postJson(`${gateway.url}/v1/rerank`, body);
      assert.equal(response.status, 400);
      await response.body?.cancel();
    }
    assert.deepEqual(await store.keys("rerank:tokens:"), keys);
    assert.deepEqual(await counts(gateway.url), before);
  });
});

describe("the byte allowance", () => {
  it("stores no more than half of RERANK_CACHE_MAX_BYTES per ttl window, and scores the rest all the same", async () => {
    const store = new MemoryStore();
    const metrics = new Metrics({ running: () => 0, waiting: () => 0, activeSequences: () => 0, activeDraftSequences: () => 0 });
    const perDocument = 8 * dimensions * 2;
    const cache = new DocumentTokenCache(store, { maxBytes: 2 * 3 * perDocument, ttlMs: 60_000 }, metrics, createLogger("silent"));
    const lite = new LiteReranker("lite", artifactWordVectors(artifact), artifact.scorers[0]!, { cache, encoderId: "test" });
    const eight = ["one two three four five six seven eight", "the a of whale ship sea captain war", "w1 w2 w3 w4 w5 w6 w7 w8", "x1 x2 x3 x4 x5 x6 x7 x8", "y1 y2 y3 y4 y5 y6 y7 y8"];
    const scores = await lite.score(query, eight, 512);
    const stored = await store.getManyBytes((await store.keys("rerank:tokens:")).filter((key) => !key.includes(":budget:")));
    assert.equal(stored.length, 3, "three documents fit in the window's allowance");
    assert.ok(stored.every((bytes) => bytes?.length === perDocument));
    assert.equal((await metrics.rerankCacheSkipped.get()).values[0]!.value, 2);
    assert.deepEqual(scores, await new LiteReranker("reference", artifactWordVectors(artifact), artifact.scorers[0]!).score(query, eight, 512));
    // Nothing more fits in this window: later documents are scored, not stored.
    await lite.score(query, ["z1 z2 z3 z4 z5 z6 z7 z8"], 512);
    assert.equal((await store.keys("rerank:tokens:")).filter((key) => !key.includes(":budget:")).length, 3);
  });
});

describe("in Redis, shared by two replicas", () => {
  let redis: ControlledRedis;
  let first: TestGateway;
  let second: TestGateway;
  const lines: string[] = [];
  before(async () => {
    redis = await startControlledRedis();
    // WORKERS 0: a fine-tuning worker that lived through the Redis outage below keeps the process alive after close (src/finetune's, not the cache's).
    const environment = { RERANK_ARTIFACT: artifactPath, REDIS_URL: redis.url, STORE_TIMEOUT_MS: "500", WORKERS: "0" };
    first = await startTestGateway({ ...environment, LOG_LEVEL: "warn" }, { logLines: lines });
    second = await startTestGateway(environment);
  });
  after(async () => {
    await first?.close();
    await second?.close();
    await redis?.stop();
  });

  it("the second replica hits what the first stored, with the same scores", async () => {
    const firstBefore = await counts(first.url);
    const scores = await rerank(first, "lite");
    const firstAfter = await counts(first.url);
    assert.equal(firstAfter.misses - firstBefore.misses, documents.length);
    assert.equal(firstAfter.stored - firstBefore.stored, distinct.length);
    assert.equal(firstAfter.bytes - firstBefore.bytes, distinct.reduce((sum, text) => sum + storedBytes(text, tinyLiteShape.documentLength), 0));

    const secondBefore = await counts(second.url);
    assert.deepEqual(await rerank(second, "lite"), scores);
    const secondAfter = await counts(second.url);
    assert.equal(secondAfter.hits - secondBefore.hits, documents.length, "every document came from the first replica's entries");
    assert.equal(secondAfter.misses - secondBefore.misses, 0);
    assert.deepEqual(scores, await uncached(0));
  });

  it("a store that fails does not fail the rerank: the scores are computed, the failure logged once", async () => {
    const errorsBefore = await metric(first.url, "rerank_document_cache_errors_total");
    await redis.stop();
    const reference = await uncached(1);
    assert.deepEqual(await rerank(first, "lite-quarter"), reference);
    assert.deepEqual(await rerank(first, "lite-quarter"), reference);
    assert.ok((await metric(first.url, "rerank_document_cache_errors_total")) > errorsBefore);
    const warnings = lines.filter((line) => line.includes("document-token cache: the store failed"));
    assert.equal(warnings.length, 1, lines.join("\n"));
    // Back before the replicas close, as test/store-faults.test.ts does.
    await redis.start();
  });
});
