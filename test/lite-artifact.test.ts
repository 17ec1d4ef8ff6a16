/**
 * The committed demo LITE rerankers (written by `npm run lite:train`): models/rerank/lite-wink.bin
 * (word vectors, served by default) and models/rerank/lite-target.bin (hidden states of the demo
 * target): each manifest's sha256 is its file's, each decodes and re-encodes to the same bytes, the
 * transformer artifact names the committed target GGUF by its sha256, the default configuration
 * serves the word-vector one, and what training measured on the held-out split is on record.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { decodeLiteArtifact, encodeLiteArtifact } from "../kernels/lite/artifact.ts";
import { fileSha256 } from "../kernels/file-sha256.ts";
import { loadConfig } from "../src/config/config.ts";

interface Manifest {
  sha256: string;
  bytes: number;
  encoder: { kind: string };
  scorers: { name: string; metrics: { test: { mrr: number }; testUntrained: { mrr: number } } }[];
}

for (const stem of ["lite-wink", "lite-target"]) {
  const bytes = readFileSync(`models/rerank/${stem}.bin`);
  const manifest = JSON.parse(readFileSync(`models/rerank/${stem}.json`, "utf8")) as Manifest;

  describe(`the committed demo LITE reranker ${stem}`, () => {
    it("matches its manifest and round-trips through the codec", () => {
      assert.equal(createHash("sha256").update(bytes).digest("hex"), manifest.sha256);
      assert.equal(bytes.length, manifest.bytes);
      const artifact = decodeLiteArtifact(bytes);
      assert.deepEqual(artifact.scorers.map((scorer) => scorer.name), ["lite", "lite-quarter"]);
      assert.equal("transformer" in artifact.encoder ? "transformer" : "word-vectors", manifest.encoder.kind);
      if ("transformer" in artifact.encoder) assert.equal(artifact.encoder.transformer.sha256, fileSha256(artifact.encoder.transformer.gguf));
      assert.ok(Buffer.from(encodeLiteArtifact(artifact)).equals(bytes));
      assert.ok(bytes.length < 8 * 1024 * 1024, "a few MB");
    });

    it("records held-out figures where trained LITE is at least its untrained MaxSim start", () => {
      for (const scorer of manifest.scorers) assert.ok(scorer.metrics.test.mrr >= scorer.metrics.testUntrained.mrr - 0.01, scorer.name);
    });
  });
}

describe("the default LITE artifact", () => {
  it("is the word-vector one (bench:rerank's choice, docs/rerank.md)", () => {
    assert.equal(loadConfig({}).rerank.artifactPath, "models/rerank/lite-wink.bin");
  });
});
