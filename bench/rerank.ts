/**
 * `npm run bench:rerank`: ranking quality and latency of the served rerankers.
 *
 * Quality: MRR@10 and nDCG@10 on the held-out test split of the committed LITE artifact's
 * manifest (the same seed and sizes give the same queries: inverse-cloze pairs from addresses
 * and chapters training never saw, 32 candidates per query: the relevant passage, BM25's 15 best
 * others and 16 random ones), scored by the same reranker classes the gateway serves.
 * Latency: `npm start`'s entry point in a child process, POST /v1/rerank with 100 test passages,
 * median and p95 over single requests and over 8 concurrent ones, cold (every document unseen,
 * so the document-token cache misses) and cached (the same 100 again); the cached figures again
 * with the cache in a real redis-server when one is on PATH.
 * Event loop: one 1000-document request per reranker while /health is asked every 10 ms.
 * Storage: bytes per stored document, from the gateway's /metrics.
 * Encoders: the same quality figures over each artifact in RERANK_COMPARE_ARTIFACTS (default the
 * transformer encoder's, models/rerank/lite-target.bin), with fewer latency rounds (a cold
 * transformer request runs every passage through the model). Nothing is asserted: the figures go
 * to docs/rerank.md and the README.
 */
import { readFileSync } from "node:fs";
import { rerankSplits, type SplitOptions } from "../kernels/lite/inverse-cloze.ts";
import { meanQuality } from "../kernels/lite/train.ts";
import { createLogger } from "../src/logging/logger.ts";
import type { Reranker } from "../src/rerank/reranker.ts";
import { loadTokenRerankers } from "../src/rerank/rerankers.ts";
import { spawnGateway } from "../test/gateway-process.ts";
import { startControlledRedis, type ControlledRedis } from "../test/redis-harness.ts";
import { median } from "./stats.ts";

const artifactPath = process.env.RERANK_ARTIFACT ?? "models/rerank/lite-wink.bin";
const manifest = JSON.parse(readFileSync(artifactPath.replace(/\.bin$/, ".json"), "utf8")) as {
  data: SplitOptions;
  encoder: { dimensions: number };
  scorers: { name: string; shape: { queryLength: number; documentLength: number } }[];
};
const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
const maxTokens = 512;

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

const started = performance.now();
const splits = rerankSplits(manifest.data);
const test = splits.test;
console.log(`test split: ${test.length} queries x ${test[0]!.candidates.length} candidates (${((performance.now() - started) / 1000).toFixed(0)} s to build)`);

/** MRR@10 and nDCG@10 of each token reranker on the test split. */
async function qualityOf(rerankers: readonly Reranker[], label: string): Promise<Record<string, { mrr: number; ndcg: number }>> {
  const result: Record<string, { mrr: number; ndcg: number }> = {};
  for (const reranker of rerankers) {
    const t = performance.now();
    const scores: number[][] = [];
    for (const example of test) scores.push(await reranker.score(example.query, example.candidates, maxTokens));
    result[reranker.id] = meanQuality(scores);
    console.log(`${label} ${reranker.id}: MRR@10 ${result[reranker.id]!.mrr.toFixed(4)}, nDCG@10 ${result[reranker.id]!.ndcg.toFixed(4)} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
  }
  return result;
}

const rerankers = await loadTokenRerankers(artifactPath, createLogger("silent"));
const quality = await qualityOf(rerankers, artifactPath);

// LOG_LEVEL info: spawnGateway waits for the "ready" line.
// A cache allowance above everything the bench stores (~7,000 lite documents, 20 KB each, then lite-quarter's):
// at the default 256 MiB, lite's cold runs spend the window's half and lite-quarter stores nothing.
const cacheBytes = String(2 * 1024 ** 3);
const gateway = await spawnGateway({ RERANK_ARTIFACT: artifactPath, LOG_LEVEL: "info", SPECULATION: "off", MAX_BODY_BYTES: "16777216", RERANK_CACHE_MAX_BYTES: cacheBytes });
const documents = [...new Set(test.flatMap((example) => example.candidates))].slice(0, 100);
/** The same passages with one unseen word appended: new texts, so every document misses the document-token cache. */
let freshRound = 0;
const fresh = (): string[] => documents.map((text) => `${text} zq${++freshRound}x`);

interface Figures {
  median: number;
  p95: number;
}
interface Latency {
  single: Figures;
  concurrent: Figures;
}
const figures = (values: number[]): Figures => ({ median: median(values), p95: percentile(values, 95) });

async function post(url: string, model: string, query: string, texts: readonly string[]): Promise<number> {
  const t = performance.now();
  const response = await fetch(`${url}/v1/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, query, documents: texts, top_n: 10, return_documents: false }) });
  if (response.status !== 200) throw new Error(`${model}: ${response.status} ${await response.text()}`);
  await response.json();
  return performance.now() - t;
}

/** Single requests, then rounds of 8 concurrent ones; `texts` gives each request's documents. */
async function measure(url: string, model: string, texts: () => readonly string[]): Promise<Latency> {
  const single: number[] = [];
  for (let r = 0; r < rounds; r++) single.push(await post(url, model, test[r % test.length]!.query, texts()));
  const concurrent: number[] = [];
  for (let r = 0; r < Math.max(1, rounds / 4); r++) {
    concurrent.push(...(await Promise.all(Array.from({ length: 8 }, (_, i) => post(url, model, test[(r * 8 + i) % test.length]!.query, texts())))));
  }
  return { single: figures(single), concurrent: figures(concurrent) };
}

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function sample(metrics: string, name: string, model?: string): number {
  const row = metrics.split("\n").find((line) => line.startsWith(model === undefined ? `${name} ` : `${name}{model_name="${model}"}`));
  return row === undefined ? NaN : Number(row.slice(row.lastIndexOf(" ") + 1));
}

/**
 * One 1000-document request while /health is asked every 10 ms: the request's time, the slowest
 * /health answer, and the event loop's largest delay over the request (prom-client's
 * nodejs_eventloop_lag_max_seconds, reset by the scrape just before).
 */
async function stalls(url: string, model: string): Promise<{ requestMs: number; healthMaxMs: number; healthProbes: number; loopMaxMs: number }> {
  const texts = Array.from({ length: 1000 }, (_, i) => `${documents[i % documents.length]!} stall${++freshRound}`);
  await scrape(url);
  let done = false;
  const probes: number[] = [];
  const probing = (async () => {
    while (!done) {
      const t = performance.now();
      await (await fetch(`${url}/health`)).text();
      probes.push(performance.now() - t);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const requestMs = await post(url, model, test[0]!.query, texts);
  done = true;
  await probing;
  return { requestMs, healthMaxMs: Math.max(...probes), healthProbes: probes.length, loopMaxMs: sample(await scrape(url), "nodejs_eventloop_lag_max_seconds") * 1000 };
}

const cold: Record<string, Latency> = {};
const cached: Record<string, Latency> = {};
const stall: Record<string, Awaited<ReturnType<typeof stalls>>> = {};
const stored: Record<string, number> = {};
const redisCached: Record<string, Latency> = {};
try {
  for (const reranker of rerankers) {
    await post(gateway.url, reranker.id, test[0]!.query, fresh());
    cold[reranker.id] = await measure(gateway.url, reranker.id, fresh);
    await post(gateway.url, reranker.id, test[0]!.query, documents);
    cached[reranker.id] = await measure(gateway.url, reranker.id, () => documents);
    stall[reranker.id] = await stalls(gateway.url, reranker.id);
    const c = cold[reranker.id]!;
    const w = cached[reranker.id]!;
    const s = stall[reranker.id]!;
    console.log(`${reranker.id}: 100 documents cold ${c.single.median.toFixed(1)} ms (p95 ${c.single.p95.toFixed(1)}), cached ${w.single.median.toFixed(1)} ms (p95 ${w.single.p95.toFixed(1)}); 8 concurrent cold ${c.concurrent.median.toFixed(1)}, cached ${w.concurrent.median.toFixed(1)}; 1000 documents ${s.requestMs.toFixed(0)} ms, /health at most ${s.healthMaxMs.toFixed(1)} ms over ${s.healthProbes} probes, event loop delay at most ${s.loopMaxMs.toFixed(1)} ms`);
  }
  const metrics = await scrape(gateway.url);
  for (const reranker of rerankers) {
    const count = sample(metrics, "rerank_document_cache_document_bytes_count", reranker.id);
    if (count > 0) stored[reranker.id] = sample(metrics, "rerank_document_cache_document_bytes_sum", reranker.id) / count;
    const skipped = sample(metrics, "rerank_document_cache_skipped_total", reranker.id);
    if (skipped > 0) console.log(`${reranker.id}: ${skipped} documents not stored (the cache's allowance was spent): its cached figures are not cached`);
  }
} finally {
  gateway.process.kill("SIGTERM");
  await gateway.exit;
}

// The same cached latency with the cache in a real redis-server (what replicas share), when one is on PATH.
const liteIds = rerankers.filter((reranker) => reranker.method === "lite").map((reranker) => reranker.id);
let redis: ControlledRedis | undefined;
try {
  redis = await startControlledRedis();
} catch (error) {
  console.log(`no redis-server: ${(error as Error).message}; Redis figures skipped`);
}
if (redis !== undefined) {
  const shared = await spawnGateway({ RERANK_ARTIFACT: artifactPath, LOG_LEVEL: "info", SPECULATION: "off", REDIS_URL: redis.url, RERANK_CACHE_MAX_BYTES: cacheBytes });
  try {
    for (const id of liteIds) {
      await post(shared.url, id, test[0]!.query, documents);
      redisCached[id] = await measure(shared.url, id, () => documents);
      console.log(`${id} (Redis): 100 cached documents ${redisCached[id]!.single.median.toFixed(1)} ms (p95 ${redisCached[id]!.single.p95.toFixed(1)}), 8 concurrent ${redisCached[id]!.concurrent.median.toFixed(1)}`);
    }
  } finally {
    shared.process.kill("SIGTERM");
    await shared.exit;
    await redis.stop();
  }
}

const ms = (value: number | undefined): string => (value === undefined ? "-" : value.toFixed(1));
console.log(`\nlatency: POST /v1/rerank, 100 documents, top_n 10; ${rounds} single requests, ${Math.max(1, rounds / 4)} rounds of 8 concurrent; cold: every document unseen (a cache miss)`);
console.log("\n| reranker | MRR@10 | nDCG@10 | cold median ms | cold p95 | cached median ms | cached p95 | 8 concurrent cold median | p95 | 8 concurrent cached median | p95 | bytes stored per document |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const reranker of rerankers) {
  const q = quality[reranker.id]!;
  const c = cold[reranker.id]!;
  const w = cached[reranker.id]!;
  const bytes = stored[reranker.id] === undefined ? "not cached" : Math.round(stored[reranker.id]!).toLocaleString("en");
  console.log(`| ${reranker.id} | ${q.mrr.toFixed(3)} | ${q.ndcg.toFixed(3)} | ${ms(c.single.median)} | ${ms(c.single.p95)} | ${ms(w.single.median)} | ${ms(w.single.p95)} | ${ms(c.concurrent.median)} | ${ms(c.concurrent.p95)} | ${ms(w.concurrent.median)} | ${ms(w.concurrent.p95)} | ${bytes} |`);
}
if (Object.keys(redisCached).length > 0) {
  console.log("\n| cache in Redis | cached median ms | p95 | 8 concurrent median | p95 |");
  console.log("|---|---|---|---|---|");
  for (const [id, l] of Object.entries(redisCached)) console.log(`| ${id} | ${ms(l.single.median)} | ${ms(l.single.p95)} | ${ms(l.concurrent.median)} | ${ms(l.concurrent.p95)} |`);
}
console.log("\n| reranker | 1000 documents, ms | slowest /health meanwhile, ms | /health probes | largest event-loop delay, ms |");
console.log("|---|---|---|---|---|");
for (const reranker of rerankers) {
  const s = stall[reranker.id]!;
  console.log(`| ${reranker.id} | ${s.requestMs.toFixed(0)} | ${s.healthMaxMs.toFixed(1)} | ${s.healthProbes} | ${s.loopMaxMs.toFixed(1)} |`);
}

// Other token encoders: quality on the same test split, then latency with fewer rounds.
const encoderRounds = Number(process.env.BENCH_ENCODER_ROUNDS ?? 3);
for (const other of (process.env.RERANK_COMPARE_ARTIFACTS ?? "models/rerank/lite-target.bin").split(",").filter((path) => path !== "")) {
  // Memoised encodings: the 32 candidates of 600 queries are 634 distinct passages.
  const loaded = performance.now();
  const otherRerankers = (await loadTokenRerankers(other, createLogger("silent"), undefined, 10_000)).filter((reranker) => reranker.method !== "bm25");
  console.log(`\n${other}: loaded in ${((performance.now() - loaded) / 1000).toFixed(1)} s`);
  const otherQuality = await qualityOf(otherRerankers, other);
  const otherGateway = await spawnGateway({ RERANK_ARTIFACT: other, LOG_LEVEL: "info", SPECULATION: "off", MAX_BODY_BYTES: "16777216", RERANK_CACHE_MAX_BYTES: cacheBytes, TFJS_THREADS: "1" });
  const latency: Record<string, { cold: Figures; cached: Figures }> = {};
  try {
    for (const reranker of otherRerankers) {
      const coldTimes: number[] = [];
      for (let r = 0; r < encoderRounds; r++) coldTimes.push(await post(otherGateway.url, reranker.id, test[r]!.query, fresh()));
      await post(otherGateway.url, reranker.id, test[0]!.query, documents);
      const cachedTimes: number[] = [];
      for (let r = 0; r < rounds; r++) cachedTimes.push(await post(otherGateway.url, reranker.id, test[r % test.length]!.query, documents));
      latency[reranker.id] = { cold: figures(coldTimes), cached: figures(cachedTimes) };
      console.log(`${other} ${reranker.id}: 100 documents cold ${ms(latency[reranker.id]!.cold.median)} ms, cached ${ms(latency[reranker.id]!.cached.median)} ms`);
    }
    const metrics = await scrape(otherGateway.url);
    console.log(`\n${other}: ${encoderRounds} cold and ${rounds} cached single requests of 100 documents (cached: only LITE scorers read the cache)`);
    console.log("\n| reranker | MRR@10 | nDCG@10 | cold median ms | cached median ms | cached p95 | bytes stored per document |");
    console.log("|---|---|---|---|---|---|---|");
    for (const reranker of otherRerankers) {
      const q = otherQuality[reranker.id]!;
      const l = latency[reranker.id]!;
      const count = sample(metrics, "rerank_document_cache_document_bytes_count", reranker.id);
      const bytes = count > 0 ? Math.round(sample(metrics, "rerank_document_cache_document_bytes_sum", reranker.id) / count).toLocaleString("en") : "not cached";
      console.log(`| ${reranker.id} | ${q.mrr.toFixed(3)} | ${q.ndcg.toFixed(3)} | ${ms(l.cold.median)} | ${ms(l.cached.median)} | ${ms(l.cached.p95)} | ${bytes} |`);
    }
  } finally {
    otherGateway.process.kill("SIGTERM");
    await otherGateway.exit;
  }
}
