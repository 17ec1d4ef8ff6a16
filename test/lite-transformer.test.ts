/**
 * The transformer token encoder (kernels/lite/transformer-encoder.ts) on a random-weight llama
 * GGUF made here: unit vectors, one per GGUF token; a prefix encodes as the start of the whole
 * text (the cache keys rely on it: a causal model's first tokens do not see the rest); the pooled
 * form; a GGUF that is not the one trained on is refused; and a gateway serving a LITE artifact
 * over it returns the order its scorer gives.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeLiteArtifact, encodeLiteArtifact } from "../kernels/lite/artifact.ts";
import { loadTransformerEncoder, type TransformerEncoder } from "../kernels/lite/transformer-encoder.ts";
import { LiteReranker } from "../src/rerank/token-rerankers.ts";
import { postJson, startTestGateway } from "./gateway-harness.ts";
import { writeTinyTransformerArtifact } from "./rerank-fixtures.ts";

const dir = mkdtempSync(join(tmpdir(), "lite-transformer-"));
const { artifactPath, spec } = writeTinyTransformerArtifact(dir);
after(() => rmSync(dir, { recursive: true, force: true }));

const text = "The whale swam past the ship, and the captain called the crew to the boats.";
let encoder: TransformerEncoder;
before(async () => {
  encoder = await loadTransformerEncoder(spec);
});

const norm = (data: Float32Array, row: number, d: number) => Math.hypot(...data.subarray(row * d, (row + 1) * d));

describe("transformer token encoder", () => {
  it("gives one unit vector per GGUF token, up to the limit", () => {
    const all = encoder.encode(text, 512);
    assert.equal(all.length, encoder.countTokens(text));
    assert.ok(all.length > 10);
    assert.equal(all.dimensions, 32);
    for (let i = 0; i < all.length; i++) assert.ok(Math.abs(norm(all.data, i, 32) - 1) < 1e-5);
    assert.equal(encoder.encode(text, 6).length, 6);
    assert.equal(encoder.encode("", 512).length, 0);
  });

  it("encodes a text's first tokens as the start of the whole text (causal)", () => {
    const all = encoder.encode(text, 512);
    const prefix = encoder.encode(text, 5);
    for (let i = 0; i < prefix.data.length; i++) assert.ok(Math.abs(prefix.data[i]! - all.data[i]!) < 1e-5, `value ${i}`);
    // Later tokens see earlier ones: a different first word changes the last token's vector.
    const other = encoder.encode(`A${text.slice(3)}`, 512);
    const last = (m: { length: number; data: Float32Array }) => m.data.subarray((m.length - 1) * 32);
    assert.ok(last(all).some((value, t) => Math.abs(value - last(other)[t]!) > 1e-3));
  });

  it("pools the first 4 x length tokens into at most `length` unit vectors, ", () => {
    const pooled = encoder.encodeDocument(text, 512, 4, "pooled");
    assert.equal(pooled.length, 4);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(norm(pooled.data, i, 32) - 1) < 1e-5);
    // The first run is the normalised mean of the first 4 token vectors.
    const first = encoder.encode(text, 4);
    const mean = Array.from({ length: 32 }, (_, t) => [0, 1, 2, 3].reduce((sum, i) => sum + first.data[i * 32 + t]!, 0));
    const length = Math.hypot(...mean);
    mean.forEach((value, t) => assert.ok(Math.abs(value / length - pooled.data[t]!) < 1e-5));
  });

  it("refuses a GGUF whose sha256 is not the one the artifact was trained on", async () => {
    await assert.rejects(loadTransformerEncoder({ ...spec, sha256: "0".repeat(64) }), /sha256/);
  });

  it("round-trips through the artifact codec with no word rows", () => {
    const bytes = readFileSync(artifactPath);
    const artifact = decodeLiteArtifact(bytes);
    assert.deepEqual("transformer" in artifact.encoder ? artifact.encoder.transformer : undefined, spec);
    assert.ok(Buffer.from(encodeLiteArtifact(artifact)).equals(bytes));
  });
});

describe("a gateway serving a LITE artifact over a transformer encoder", () => {
  it("returns its scorers' order, with usage in GGUF tokens", async () => {
    const gateway = await startTestGateway({ RERANK_ARTIFACT: artifactPath });
    try {
      const documents = ["the captain of the ship", text, "congress debated war and peace", "a whale"];
      const artifact = decodeLiteArtifact(readFileSync(artifactPath));
      for (const [index, model] of ["lite", "lite-quarter"].entries()) {
        const expected = await new LiteReranker(model, encoder, artifact.scorers[index]!).score("the whale and the ship", documents, 512);
        const response = await postJson(`${gateway.url}/v1/rerank`, { model, query: "the whale and the ship", documents });
        assert.equal(response.status, 200);
        const body = (await response.json()) as { results: { index: number; relevance_score: number }[]; usage: { total_tokens: number } };
        assert.deepEqual(body.results.map((result) => result.index), expected.map((score, i) => ({ score, i })).sort((a, b) => b.score - a.score).map((entry) => entry.i));
        for (const result of body.results) assert.ok(Math.abs(result.relevance_score - expected[result.index]!) < 1e-9);
        const tokens = ["the whale and the ship", ...documents].reduce((sum, t) => sum + encoder.countTokens(t), 0);
        assert.equal(body.usage.total_tokens, tokens);
      }
    } finally {
      await gateway.close();
    }
  });
});
