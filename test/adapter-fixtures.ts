import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFile } from "../kernels/gguf/reader.ts";
import { randomLoraAdapter } from "../kernels/lora/random.ts";
import { gguf, tensorByteSize } from "../kernels/gguf/types.ts";
import { encodeGguf } from "../kernels/gguf/writer.ts";
import { adapterMetadata, adapterTensors, writeLoraAdapter } from "../kernels/lora/write.ts";
import { configFromGguf } from "../kernels/transformer/gguf-model.ts";
import { modelPath } from "./gateway-harness.ts";

/** The target model's shape, which every fixture adapter is made for. */
export const baseConfig = configFromGguf(readGgufFile(modelPath("target")));

/** A fresh ADAPTERS_DIR for one test file. */
export function adaptersDir(): string {
  return mkdtempSync(join(tmpdir(), "adapters-"));
}

/**
 * Writes a random adapter for the demo target into `dir` and returns its file name. The
 * magnitude is large enough that greedy output differs from the base and between seeds, so
 * every answer can be traced to the adapter (and version) that gave it.
 */
export function writeRandomAdapter(dir: string, file: string, seed: number, rank = 8): string {
  writeLoraAdapter(join(dir, file), randomLoraAdapter(baseConfig, { rank, seed, magnitude: 0.5 }));
  return file;
}

/**
 * Files the gateway must refuse before llama.cpp sees them, by file name. `alpha-u32.gguf`
 * would abort the whole process inside node-llama-cpp if it got that far.
 */
export function writeBadAdapters(dir: string): Record<string, RegExp> {
  const adapter = randomLoraAdapter(baseConfig, { rank: 4, seed: 5, targets: ["attn_q"] });
  writeFileSync(join(dir, "alpha-u32.gguf"), encodeGguf({ ...adapterMetadata(adapter), "adapter.lora.alpha": gguf.u32(8) }, adapterTensors(adapter)));
  writeLoraAdapter(join(dir, "wide.gguf"), randomLoraAdapter({ ...baseConfig, dim: baseConfig.dim * 2 }, { rank: 4, seed: 5, targets: ["attn_q"] }));
  writeLoraAdapter(join(dir, "deep.gguf"), randomLoraAdapter({ ...baseConfig, layers: baseConfig.layers + 2 }, { rank: 4, seed: 5, targets: ["attn_q"] }));
  writeFileSync(join(dir, "garbage.gguf"), "GGUF but not really");
  // A type ggml knows (IQ2_XXS) that we cannot decode: a typed refusal naming it, not a 500.
  const iq2 = adapterTensors(adapter).map((tensor) => ({ ...tensor, type: 16, data: new Uint8Array(tensorByteSize(16, tensor.shape[0]! * tensor.shape[1]!)) }));
  writeFileSync(join(dir, "iq2-xxs.gguf"), encodeGguf(adapterMetadata(adapter), iq2));
  copyFileSync(modelPath("draft"), join(dir, "a-model.gguf"));
  return {
    "alpha-u32.gguf": /adapter\.lora\.alpha must be a float32/,
    "wide.gguf": /base weight has ggml shape/,
    "deep.gguf": /does not exist in the base model/,
    "garbage.gguf": /not a readable GGUF/,
    "iq2-xxs.gguf": /tensor type IQ2_XXS is not supported/,
    "a-model.gguf": /general\.type/,
  };
}
