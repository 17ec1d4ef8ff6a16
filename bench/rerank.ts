/**
 * `npm run bench:rerank`: ranking quality and latency of the served rerankers.
 *
 * Quality: MRR@10 and nDCG@10 on the held-out test split of the committed LITE artifact's
 * manifest (the same seed and sizes give the same queries: inverse-cloze pairs from addresses
 * and chapters training never saw, 32 candidates per query: the relevant passage, BM25's 15 best
 * others and 16 random ones), scored by the same reranker classes the gateway serves.
 * Latency: `npm start`'s entry point in a child process, POST /v1/rerank with 100 test passages,
 * median and p95 over single requests and over 8 concurrent ones.
 * Storage: bytes per document of each scorer's stored form. Nothing is asserted: the figures go
 * to docs/rerank.md and the README.
 */
import { readFileSync } from "node:fs";
import { rerankSplits, type SplitOptions } from "../kernels/lite/inverse-cloze.ts";
import { meanQuality } from "../kernels/lite/train.ts";
import { createLogger } from "../src/logging/logger.ts";
import { loadTokenRerankers } from "../src/rerank/rerankers.ts";
import { spawnGateway } from "../test/gateway-process.ts";
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

const rerankers = loadTokenRerankers(artifactPath, createLogger("silent"));
const quality: Record<string, { mrr: number; ndcg: number }> = {};
for (const reranker of rerankers) {
  const scores: number[][] = [];
  for (const example of test) scores.push(await reranker.score(example.query, example.candidates, maxTokens));
  quality[reranker.id] = meanQuality(scores);
  console.log(`${reranker.id}: MRR@10 ${quality[reranker.id]!.mrr.toFixed(4)}, nDCG@10 ${quality[reranker.id]!.ndcg.toFixed(4)}`);
}

/** A LITE scorer keeps documentLength token vectors of `dimensions` float32s per document; MaxSim all tokens read. */
const bytesPerDocument: Record<string, number> = {};
for (const scorer of manifest.scorers) bytesPerDocument[scorer.name] = scorer.shape.documentLength * manifest.encoder.dimensions * 4;
const meanWords = test.flatMap((example) => example.candidates).reduce((sum, text) => sum + Math.min(maxTokens, text.split(/\s+/).length), 0) / test.flatMap((example) => example.candidates).length;
bytesPerDocument["maxsim"] = Math.round(meanWords * manifest.encoder.dimensions * 4);
bytesPerDocument["dual-encoder"] = manifest.encoder.dimensions * 4;

// LOG_LEVEL info: spawnGateway waits for the "ready" line.
const gateway = await spawnGateway({ RERANK_ARTIFACT: artifactPath, LOG_LEVEL: "info", SPECULATION: "off" });
const documents = [...new Set(test.flatMap((example) => example.candidates))].slice(0, 100);
const latency: Record<string, { single: { median: number; p95: number }; concurrent: { median: number; p95: number } }> = {};
try {
  const post = async (model: string, query: string): Promise<number> => {
    const t = performance.now();
    const response = await fetch(`${gateway.url}/v1/rerank`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, query, documents, top_n: 10, return_documents: false }) });
    if (response.status !== 200) throw new Error(`${model}: ${response.status} ${await response.text()}`);
    await response.json();
    return performance.now() - t;
  };
  for (const reranker of rerankers) {
    await post(reranker.id, test[0]!.query);
    const single: number[] = [];
    for (let r = 0; r < rounds; r++) single.push(await post(reranker.id, test[r % test.length]!.query));
    const concurrent: number[] = [];
    for (let r = 0; r < Math.max(1, rounds / 4); r++) concurrent.push(...(await Promise.all(Array.from({ length: 8 }, (_, i) => post(reranker.id, test[(r * 8 + i) % test.length]!.query)))));
    latency[reranker.id] = {
      single: { median: median(single), p95: percentile(single, 95) },
      concurrent: { median: median(concurrent), p95: percentile(concurrent, 95) },
    };
    console.log(`${reranker.id}: 100 documents, single ${median(single).toFixed(1)} ms (p95 ${percentile(single, 95).toFixed(1)}), 8 concurrent ${median(concurrent).toFixed(1)} ms (p95 ${percentile(concurrent, 95).toFixed(1)})`);
  }
} finally {
  gateway.process.kill("SIGTERM");
  await gateway.exit;
}

console.log("\n| reranker | MRR@10 | nDCG@10 | 100 docs, median ms | p95 ms | 8 concurrent, median ms | p95 ms | bytes stored per document |");
console.log("|---|---|---|---|---|---|---|---|");
for (const reranker of rerankers) {
  const q = quality[reranker.id]!;
  const l = latency[reranker.id]!;
  console.log(`| ${reranker.id} | ${q.mrr.toFixed(3)} | ${q.ndcg.toFixed(3)} | ${l.single.median.toFixed(1)} | ${l.single.p95.toFixed(1)} | ${l.concurrent.median.toFixed(1)} | ${l.concurrent.p95.toFixed(1)} | ${bytesPerDocument[reranker.id] ?? "text only"} |`);
}
