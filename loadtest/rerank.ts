/**
 * `RATE` (8) POST /v1/rerank per second for `DURATION` (1m), the rerankers in `RERANKERS`
 * (default `lite,bm25`, the two `npm start` serves from the committed demo artifact) taking
 * turns, each request `DOCUMENTS` (20) passages of which one answers the query (a distinct rare
 * word in both), half of them with `top_n` 5 and documents returned. Every answer: results sorted
 * by relevance_score, highest first, distinct input indexes in range, as many as top_n asks,
 * returned documents equal to the ones sent; bm25 must rank the planted passage first (every
 * reranker's ids and quality: docs/rerank.md). p95 latency above `RERANK_P95_MS` (2000) fails.
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/rerank.ts
 */
import { check } from "k6";
import http from "k6/http";
import type { Options } from "k6/options";
import { baseUrl, explain, headers } from "./config.ts";

const rerankers = (__ENV.RERANKERS ?? "lite,bm25").split(",");
const documentCount = Number(__ENV.DOCUMENTS ?? 20);

export const options: Options = {
  scenarios: {
    arrivals: {
      executor: "constant-arrival-rate",
      rate: Number(__ENV.RATE ?? 8),
      timeUnit: "1s",
      duration: __ENV.DURATION ?? "1m",
      preAllocatedVUs: 8,
      maxVUs: 32,
    },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    http_req_duration: [`p(95)<${Number(__ENV.RERANK_P95_MS ?? 2000)}`],
    checks: ["rate>0.99"],
  },
};

const filler = [
  "The Congress shall have power to lay and collect taxes, duties, imposts and excises.",
  "Call me Ishmael. Some years ago I thought I would sail about a little.",
  "We have met today to consider the state of the Union and the condition of the Treasury.",
  "The whale sounded, and the line ran out smoothly over the bows of the boat.",
  "Our commerce with foreign nations has grown in every year of peace.",
  "The harpooneer stood up in the head of the boat and darted his iron.",
  "The army and the navy have been kept in readiness, at moderate cost.",
  "The sea was calm, and the ship lay becalmed for three long days.",
];
/** Rare words, each planted in one passage and its query. */
const planted = ["quagmire", "zephyr", "obelisk", "marmalade", "lighthouse", "sapphire"];

interface Result {
  index: number;
  relevance_score: number;
  document?: { text: string };
}

export default function (): void {
  const reranker = rerankers[__ITER % rerankers.length]!;
  const word = planted[__ITER % planted.length]!;
  const target = (__VU * 7 + __ITER) % documentCount;
  const documents = Array.from({ length: documentCount }, (_, i) => (i === target ? `The ${word} was seen again near the harbour at dawn.` : filler[(i + __ITER) % filler.length]!));
  const topN = __ITER % 2 === 0 ? 5 : undefined;
  const body = { model: reranker, query: `Where was the ${word} seen?`, documents, ...(topN === undefined ? { return_documents: false } : { top_n: topN, return_documents: true }) };
  const response = http.post(`${baseUrl}/v1/rerank`, JSON.stringify(body), { headers: headers(), tags: { reranker } });
  const results = response.status === 200 ? (response.json("results") as Result[] | null) : null;
  explain(reranker, response, undefined);
  check(response, {
    "200": (r) => r.status === 200,
    "object rerank, the model asked for, usage": (r) => r.status === 200 && r.json("object") === "rerank" && r.json("model") === reranker && Number(r.json("usage.total_tokens")) > 0,
    "as many results as top_n asks": () => Array.isArray(results) && results.length === Math.min(topN ?? documentCount, documentCount),
    "distinct input indexes in range": () => Array.isArray(results) && new Set(results.map(({ index }) => index)).size === results.length && results.every(({ index }) => Number.isInteger(index) && index >= 0 && index < documentCount),
    "sorted by relevance_score, highest first": () => Array.isArray(results) && results.every(({ relevance_score }, i) => Number.isFinite(relevance_score) && (i === 0 || relevance_score <= results[i - 1]!.relevance_score)),
    "documents returned as sent, only when asked": () => Array.isArray(results) && results.every(({ index, document }) => (topN === undefined ? document === undefined : document?.text === documents[index])),
    "bm25 ranks the planted passage first": () => reranker !== "bm25" || results?.[0]?.index === target,
  });
}
