import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufFile } from "../kernels/gguf/reader.ts";
import { randomLoraAdapter } from "../kernels/lora/random.ts";
import { writeLoraAdapter } from "../kernels/lora/write.ts";
import { configFromGguf } from "../kernels/transformer/gguf-model.ts";
import { modelPath } from "./gateway-harness.ts";

const baseConfig = configFromGguf(readGgufFile(modelPath("target")));

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
