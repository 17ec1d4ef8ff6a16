import { writeFileSync } from "node:fs";
import { encodeLiteArtifact } from "../kernels/lite/artifact.ts";
import { initialLiteParameters, liteLayout, type LiteShape } from "../kernels/lite/scorer.ts";
import { WordVectors } from "../kernels/lite/word-vectors.ts";
import { createRandom } from "../kernels/random.ts";

/** Small fixed lengths, so tests can reason about what a scorer reads. */
export const tinyLiteShape: LiteShape = { queryLength: 8, documentLength: 16, rowHidden: 8, rowOutput: 4, columnHidden: 4, columnOutput: 4 };

/**
 * A LITE artifact with random word vectors for a few words and two scorers, `lite` (first
 * tokens) and `lite-quarter` (salient tokens, a quarter of the length), with a random read-out
 * so their order is not MaxSim's.
 */
export function writeTinyLiteArtifact(path: string, seed = 1): void {
  const random = createRandom(seed);
  const words = ["the", "a", "of", "whale", "ship", "sea", "captain", "president", "congress", "war", "peace", "money"];
  const vectors = words.map(() => Array.from({ length: 16 }, () => random.normal()));
  const scorer = (name: string, documentLength: number, documentTokens: "first" | "salient") => {
    const shape = { ...tinyLiteShape, documentLength };
    const params = initialLiteParameters(shape, seed);
    const layout = liteLayout(shape);
    for (let i = layout.readout; i < layout.alpha; i++) params[i] = random.normal() * 0.3;
    return { name, shape, documentTokens, params };
  };
  const bytes = encodeLiteArtifact({
    encoder: { name: "test-words-16d", vectors: WordVectors.quantize(words, vectors, 16) },
    scorers: [scorer("lite", 16, "first"), scorer("lite-quarter", 4, "salient")],
  });
  writeFileSync(path, bytes);
}
