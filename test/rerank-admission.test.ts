/**
 * Rerank requests go through the scheduler's admission like completions: RERANK_CONCURRENCY
 * score at once, the next wait in the queue (MAX_QUEUE), and past it the answer is the
 * documented 429 with Retry-After. The first request is held deterministically, not by timing:
 * its document-token cache lookup waits on a frozen redis-server (SIGSTOP) until it is thawed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { decodeLiteArtifact } from "../kernels/lite/artifact.ts";
import { LiteReranker } from "../src/rerank/token-rerankers.ts";
import { metric, postJson, settle, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conforms, conformsAsError } from "./openapi-validator.ts";
import { startControlledRedis, type ControlledRedis } from "./redis-harness.ts";
import { artifactWordVectors, writeTinyLiteArtifact } from "./rerank-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "rerank-admission-"));
const artifactPath = join(dir, "lite.bin");
writeTinyLiteArtifact(artifactPath);

const query = "the president and congress";
const documents = ["a whale and a ship on the sea", "the president spoke to congress about money", "congress debated war and peace"];

let redis: ControlledRedis;
let gateway: TestGateway;
before(async () => {
  redis = await startControlledRedis();
  gateway = await startTestGateway({
    RERANK_ARTIFACT: artifactPath,
    REDIS_URL: redis.url,
    RERANK_CONCURRENCY: "1",
    MAX_QUEUE: "1",
    RETRY_AFTER_SECONDS: "3",
    // Long enough for the test to queue and refuse requests while the first waits on the frozen store.
    STORE_TIMEOUT_MS: "5000",
    // No adapter polling to trip the store's breaker while it is frozen.
    ADAPTER_SYNC_MS: "600000",
  });
});
after(async () => {
  redis?.thaw();
  await gateway?.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("holds one rerank, queues the next, and refuses the one after with 429 and Retry-After", async () => {
  const post = () => postJson(`${gateway.url}/v1/rerank`, { model: "lite", query, documents, return_documents: false });
  redis.freeze();
  const running = post();
  assert.equal(await settle(() => metric(gateway.url, "num_requests_running"), 1), 1, "the first rerank holds the only slot");
  const queued = post();
  assert.equal(await settle(() => metric(gateway.url, "num_requests_waiting"), 1), 1, "the second waits in the queue");
  const refused = await post();
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("retry-after"), "3");
  assert.equal((await conformsAsError(refused)).error.code, "rate_limit_exceeded");
  assert.equal((await fetch(`${gateway.url}/health`)).status, 200, "the event loop answers meanwhile");
  redis.thaw();

  const artifact = decodeLiteArtifact(readFileSync(artifactPath));
  const expected = await new LiteReranker("reference", artifactWordVectors(artifact), artifact.scorers[0]!).score(query, documents, 512);
  for (const response of await Promise.all([running, queued])) {
    const ranked = (await conforms("/v1/rerank", "post", response)) as { results: { index: number; relevance_score: number }[] };
    assert.deepEqual(ranked.results.sort((a, b) => a.index - b.index).map((result) => result.relevance_score), expected);
  }
  assert.equal(await settle(() => metric(gateway.url, "num_requests_running"), 0), 0);
});
