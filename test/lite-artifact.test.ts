/**
 * The committed demo LITE reranker (models/rerank/lite-wink.bin, written by `npm run lite:train`):
 * its manifest's sha256 is the file's, it decodes and re-encodes to the same bytes, the default
 * configuration serves it, and what training measured on the held-out split is on record.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { decodeLiteArtifact, encodeLiteArtifact } from "../kernels/lite/artifact.ts";
import { loadConfig } from "../src/config/config.ts";

const path = "models/rerank/lite-wink.bin";
const bytes = readFileSync(path);
const manifest = JSON.parse(readFileSync("models/rerank/lite-wink.json", "utf8")) as {
  sha256: string;
  bytes: number;
  scorers: { name: string; metrics: { test: { mrr: number }; testUntrained: { mrr: number } } }[];
};

describe("the committed demo LITE reranker", () => {
  it("matches its manifest and round-trips through the codec", () => {
    assert.equal(createHash("sha256").update(bytes).digest("hex"), manifest.sha256);
    assert.equal(bytes.length, manifest.bytes);
    const artifact = decodeLiteArtifact(bytes);
    assert.deepEqual(artifact.scorers.map((scorer) => scorer.name), ["lite", "lite-quarter"]);
    assert.ok(Buffer.from(encodeLiteArtifact(artifact)).equals(bytes));
    assert.ok(bytes.length < 8 * 1024 * 1024, "a few MB");
  });

  it("is what the default configuration serves", () => {
    assert.equal(loadConfig({}).rerank.artifactPath, path);
  });

  it("records held-out figures where trained LITE is at least its untrained MaxSim start", () => {
    for (const scorer of manifest.scorers) assert.ok(scorer.metrics.test.mrr >= scorer.metrics.testUntrained.mrr - 0.01, scorer.name);
  });
});
