/**
 * POST /v1/rerank (and /rerank, /v2/rerank) on a real gateway: the exact JSON bodies Jina's,
 * Cohere's (v1 and v2), LangChain's and LlamaIndex's rerank clients send, every reranker kind
 * over a small LITE artifact made here plus a random-weight GGUF reranker, the order LITE's
 * scorer gives, and bad input.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { decodeLiteArtifact } from "../kernels/lite/artifact.ts";
import { writeRandomReranker } from "../kernels/transformer/random-reranker.ts";
import { LiteReranker } from "../src/rerank/token-rerankers.ts";
import { postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conforms } from "./openapi-validator.ts";
import { artifactWordVectors, writeTinyLiteArtifact } from "./rerank-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "rerank-"));
const artifactPath = join(dir, "lite.bin");
writeTinyLiteArtifact(artifactPath);
const ggufPath = join(dir, "reranker.gguf");
writeRandomReranker(ggufPath, { vocabSize: 2048, dim: 64, layers: 2, contextLength: 512, seed: 3 });

const query = "the president and congress";
const documents = [
  "a whale and a ship on the sea",
  "the president spoke to congress about money",
  "the captain of the ship",
  "congress debated war and peace",
];

let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway({ RERANK_ARTIFACT: artifactPath, RERANK_MAX_DOCUMENTS: "5", RERANK_MAX_DOCUMENT_TOKENS: "12", RERANK_MODELS: `judge=${ggufPath}`, CONTEXT_SIZE: "512" });
});
after(async () => {
  await gateway.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Ranked {
  model: string;
  results: { index: number; relevance_score: number; document?: { text: string } }[];
  usage: { total_tokens: number; truncated_documents: number };
}

async function rerank(body: unknown, path = "/v1/rerank"): Promise<Ranked> {
  return (await conforms(path, "post", await postJson(`${gateway.url}${path}`, body))) as Ranked;
}

async function refused(body: unknown, status = 400): Promise<{ message: string; param: string | null; code: string | null }> {
  const response = await postJson(`${gateway.url}/v1/rerank`, body);
  const { error } = (await conforms("/v1/rerank", "post", response, status)) as { error: { message: string; param: string | null; code: string | null } };
  return error;
}

describe("rerank clients' exact requests", () => {
  it("Jina's API and LangChain's JinaRerank: {query, documents, model, top_n}", async () => {
    const ranked = await rerank({ query, documents, model: "lite", top_n: 3 });
    assert.equal(ranked.model, "lite");
    assert.equal(ranked.results.length, 3);
    for (const result of ranked.results) assert.equal(result.document?.text, documents[result.index]);
    const scores = ranked.results.map((result) => result.relevance_score);
    assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
  });

  it("LlamaIndex's JinaRerank: {model, query, documents, top_n}", async () => {
    const ranked = await rerank({ model: "maxsim", query, documents, top_n: 2 });
    assert.equal(ranked.results.length, 2);
    assert.equal(ranked.results[0]!.index, 1, "the document with both query words");
  });

  it("Cohere's v1 SDK (LlamaIndex's and LangChain.js's CohereRerank): string documents, max_chunks_per_doc, return_documents false", async () => {
    const ranked = await rerank({ model: "bm25", query, documents, top_n: 2, max_chunks_per_doc: 10, return_documents: false });
    assert.deepEqual(ranked.results.map((result) => Object.keys(result).sort()), [["index", "relevance_score"], ["index", "relevance_score"]]);
    assert.equal(ranked.results[0]!.index, 1);
  });

  it("Cohere's v1 object documents with rank_fields", async () => {
    const objects = documents.map((text, i) => ({ title: `doc ${i}`, text }));
    const ranked = await rerank({ model: "dual-encoder", query, documents: objects, rank_fields: ["text"], return_documents: true });
    assert.equal(ranked.results.length, 4);
    assert.equal(ranked.results.find((result) => result.index === 2)?.document?.text, documents[2]);
    const both = await rerank({ model: "bm25", query: "doc 3", documents: objects, rank_fields: ["title", "text"] });
    assert.equal(both.results.find((result) => result.index === 3)!.document!.text, `title: doc 3\ntext: ${documents[3]}`);
  });

  it("Cohere's v2 SDK (LangChain's CohereRerank) on /v2/rerank: max_tokens_per_doc; llama.cpp's /rerank", async () => {
    const v2 = await rerank({ model: "lite-quarter", query, documents, top_n: 3, max_tokens_per_doc: 4 }, "/v2/rerank");
    assert.equal(v2.results.length, 3);
    assert.equal(v2.usage.truncated_documents, 4, "every document has more than 4 words");
    const plain = await rerank({ model: "lite", query, documents }, "/rerank");
    assert.equal(plain.results.length, 4);
  });
});

describe("reranker kinds", () => {
  it("lists every reranker with kind ranking and its method", async () => {
    const listed = (await (await fetch(`${gateway.url}/v1/models`)).json()) as { data: { id: string; kind: string; method?: string }[] };
    const rerankers = listed.data.filter((model) => model.kind === "ranking").map((model) => [model.id, model.method]);
    assert.deepEqual(rerankers, [["judge", "gguf"], ["bm25", "bm25"], ["lite", "lite"], ["lite-quarter", "lite"], ["maxsim", "maxsim"], ["dual-encoder", "dual-encoder"]]);
  });

  it("returns the order of the artifact's LITE scorer, and it differs from MaxSim's here", async () => {
    const artifact = decodeLiteArtifact(readFileSync(artifactPath));
    const scorer = new LiteReranker("lite", artifactWordVectors(artifact), artifact.scorers[0]!);
    const expected = await scorer.score(query, documents, 12);
    const ranked = await rerank({ model: "lite", query, documents });
    for (const result of ranked.results) assert.ok(Math.abs(result.relevance_score - expected[result.index]!) < 1e-9);
    assert.deepEqual(ranked.results.map((result) => result.index), expected.map((score, index) => ({ score, index })).sort((a, b) => b.score - a.score).map((entry) => entry.index));
  });

  it("serves a GGUF reranker through node-llama-cpp's ranking context, with the scores llama.cpp gives", async () => {
    const ranked = await rerank({ model: "judge", query, documents, return_documents: false });
    assert.equal(ranked.results.length, 4);
    for (const result of ranked.results) assert.ok(result.relevance_score > 0 && result.relevance_score < 1);
    // The same pairs ranked by node-llama-cpp alone, outside the gateway.
    const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    try {
      const model = await llama.loadModel({ modelPath: ggufPath });
      const context = await model.createRankingContext({ contextSize: 512, threads: 1 });
      const tokens = (text: string) => model.tokenize(text, false).slice(0, 12);
      const direct = await context.rankAll(tokens(query), documents.map(tokens));
      for (const result of ranked.results) assert.ok(Math.abs(result.relevance_score - direct[result.index]!) < 1e-6);
    } finally {
      await llama.dispose();
    }
    assert.ok(ranked.usage.total_tokens > 0);
  });

  it("counts the query's and each document's tokens as read in usage", async () => {
    const ranked = await rerank({ model: "bm25", query, documents: ["one two three", "a b c d e f g h i j k l m n o"] });
    assert.equal(ranked.usage.total_tokens, 4 + 3 + 12);
    assert.equal(ranked.usage.truncated_documents, 1);
  });
});

describe("bad input: OpenAI-style errors naming the field", () => {
  it("empty query, no documents, too many, non-string documents, unknown model, over the limit with truncate false", async () => {
    assert.equal((await refused({ model: "lite", query: "  ", documents })).param, "query");
    assert.equal((await refused({ model: "lite", query, documents: [] })).param, "documents");
    assert.equal((await refused({ model: "lite", query, documents: ["a", "b", "c", "d", "e", "f"] })).param, "documents");
    assert.equal((await refused({ model: "lite", query, documents: ["a", 7] })).param, "documents[1]");
    assert.equal((await refused({ model: "lite", query, documents: [{ title: "no text" }] })).param, "documents[0].text");
    const unknown = await refused({ model: "nope", query, documents }, 404);
    assert.deepEqual([unknown.param, unknown.code], ["model", "model_not_found"]);
    const long = await refused({ model: "lite", query, documents: ["short", "w ".repeat(13)], truncate: false });
    assert.deepEqual([long.param, long.code], ["documents[1]", "context_length_exceeded"]);
    assert.equal((await refused({ model: "lite", query: "q ".repeat(13), documents })).param, "query");
    assert.equal((await refused({ model: "lite", query, documents, extra: 1 })).param, "extra");
  });
});
