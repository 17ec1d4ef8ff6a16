import type { GgufLayout } from "../../kernels/gguf/types.ts";
import { AdapterError } from "../../kernels/lora/errors.ts";
import { parseLoraAdapter } from "../../kernels/lora/read.ts";
import { invalidRequest } from "../protocol/errors.ts";

export interface AdapterShape {
  rank: number;
  alpha: number;
}

/**
 * Everything node-llama-cpp would refuse, or abort the whole process on (alpha stored as an
 * integer, a missing tensor of a pair), is refused here first, as a 400 naming what is wrong.
 * Runs on every byte array before it becomes a file llama.cpp loads, on every replica.
 */
export function checkAdapter(bytes: Uint8Array, label: string, base: GgufLayout): AdapterShape {
  try {
    const adapter = parseLoraAdapter(bytes, label, base);
    return { rank: adapter.rank, alpha: adapter.alpha };
  } catch (error) {
    if (error instanceof AdapterError) throw invalidRequest(`${error.message} (${error.kind})`, "lora_path", "invalid_adapter");
    throw error;
  }
}
