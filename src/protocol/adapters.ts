import { z } from "zod";

/** Safe as a file-name part and a store key; never a path. */
const loraName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");

/** POST /v1/load_lora_adapter (vLLM's body; `scale` is our extension). */
export const loadAdapterRequestSchema = z.strictObject({
  lora_name: loraName,
  lora_path: z.string().min(1).max(4096),
  /** node-llama-cpp's adapter scale: the delta is scale * alpha / rank times (x A^T) B^T. */
  scale: z.number().gt(0).max(100).optional(),
});

/** POST /v1/unload_lora_adapter. */
export const unloadAdapterRequestSchema = z.strictObject({
  lora_name: loraName,
});

export type LoadAdapterRequest = z.infer<typeof loadAdapterRequestSchema>;
export type UnloadAdapterRequest = z.infer<typeof unloadAdapterRequestSchema>;

/** A loaded adapter version, as the load route answers and the registry stores it. */
export interface AdapterCard {
  object: "lora_adapter";
  id: string;
  version: number;
  parent: string;
  rank: number;
  alpha: number;
  scale: number;
  sha256: string;
  size: number;
  created: number;
  /** The system_fingerprint of responses this version gives. */
  system_fingerprint: string;
}

export interface AdapterDeleted {
  object: "lora_adapter.deleted";
  id: string;
  deleted: true;
}
