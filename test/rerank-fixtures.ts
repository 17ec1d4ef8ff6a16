import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeLiteArtifact, type LiteArtifact, type LiteScorerEntry } from "../kernels/lite/artifact.ts";
import { initialLiteParameters, liteLayout, type LiteShape } from "../kernels/lite/scorer.ts";
import { fileSha256 } from "../kernels/file-sha256.ts";
import type { TransformerSpec } from "../kernels/lite/transformer-encoder.ts";
import { WordVectors } from "../kernels/lite/word-vectors.ts";
import { writeRandomLlama } from "../kernels/transformer/random-model.ts";
import { createRandom, type Random } from "../kernels/random.ts";
import type { DocumentTokens } from "../kernels/lite/token-encoder.ts";

/** Small fixed lengths, so tests can reason about what a scorer reads. */
export const tinyLiteShape: LiteShape = { queryLength: 8, documentLength: 16, rowHidden: 8, rowOutput: 4, columnHidden: 4, columnOutput: 4 };

/** A tiny scorer with a random read-out, so its order is not MaxSim's. */
function tinyScorer(name: string, documentLength: number, documentTokens: DocumentTokens, seed: number, random: Random): LiteScorerEntry {
  const shape = { ...tinyLiteShape, documentLength };
  const params = initialLiteParameters(shape, seed);
  const layout = liteLayout(shape);
  for (let i = layout.readout; i < layout.alpha; i++) params[i] = random.normal() * 0.3;
  return { name, shape, documentTokens, params };
}

/**
 * A LITE artifact with random word vectors for a few words and two scorers, `lite` (first
 * tokens) and `lite-quarter` (the first tokens pooled to a quarter of the length), with a random read-out
 * so their order is not MaxSim's.
 */
export function writeTinyLiteArtifact(path: string, seed = 1): void {
  const random = createRandom(seed);
  const words = ["the", "a", "of", "whale", "ship", "sea", "captain", "president", "congress", "war", "peace", "money"];
  const vectors = words.map(() => Array.from({ length: 16 }, () => random.normal()));
  const scorer = (name: string, documentLength: number, documentTokens: DocumentTokens) => tinyScorer(name, documentLength, documentTokens, seed, random);
  const bytes = encodeLiteArtifact({
    encoder: { name: "test-words-16d", vectors: WordVectors.quantize(words, vectors, 16) },
    scorers: [scorer("lite", 16, "first"), scorer("lite-quarter", 4, "pooled")],
  });
  writeFileSync(path, bytes);
}

/** The word vectors of a word-encoder artifact (the fixtures' and the committed demo's). */
export function artifactWordVectors(artifact: LiteArtifact): WordVectors {
  if (!("vectors" in artifact.encoder)) throw new Error(`${artifact.encoder.name} is not a word encoder`);
  return artifact.encoder.vectors;
}

/**
 * A random-weight llama GGUF (the demo target's tokenizer, 32 dimensions, 2 blocks) in `dir` and
 * a LITE artifact over its hidden states: `lite` (first tokens) and `lite-quarter` (pooled).
 */
export function writeTinyTransformerArtifact(dir: string, seed = 1): { artifactPath: string; spec: TransformerSpec } {
  const gguf = join(dir, "encoder.gguf");
  const config = writeRandomLlama(gguf, { vocabSize: 2048, dim: 32, layers: 2, ffnDim: 64, heads: 2, contextLength: 64, seed });
  const random = createRandom(seed);
  const spec: TransformerSpec = { gguf, sha256: fileSha256(gguf), layer: 2, center: Array.from({ length: config.dim }, () => random.normal() * 0.1) };
  const scorer = (name: string, documentLength: number, documentTokens: DocumentTokens) => tinyScorer(name, documentLength, documentTokens, seed, random);
  const artifactPath = join(dir, "lite-transformer.bin");
  writeFileSync(artifactPath, encodeLiteArtifact({ encoder: { name: "random llama 32d", transformer: spec }, scorers: [scorer("lite", 16, "first"), scorer("lite-quarter", 4, "pooled")] }));
  return { artifactPath, spec };
}
