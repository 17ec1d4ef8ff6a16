import { resolve } from "node:path";
import type { LlamaModel } from "node-llama-cpp";

/** What node-llama-cpp 3.22.1 keeps per model and never frees before the model goes (internal). */
interface LoraCache {
  _loraAdapters?: Map<string, { dispose(): Promise<void> }>;
}

/**
 * Frees an adapter's weights once no context uses it. node-llama-cpp loads an adapter once per
 * model and file path and keeps it until the model is disposed, even after every context using
 * it is gone; without this, each swapped-out version would stay in memory for good. Call only
 * after disposing every context created with `filePath`. Relies on node-llama-cpp 3.22.1's
 * internal `_loraAdapters` map (the version is pinned); if that disappears, this does nothing.
 */
export async function releaseLora(model: LlamaModel, filePath: string): Promise<void> {
  const cache = (model as unknown as LoraCache)._loraAdapters;
  const resolvedPath = resolve(process.cwd(), filePath);
  const lora = cache?.get(resolvedPath);
  if (lora === undefined) return;
  cache!.delete(resolvedPath);
  await lora.dispose();
}

/** How many adapters' weights node-llama-cpp holds for `model` (what releaseLora frees). */
export function loadedLoraCount(model: LlamaModel): number {
  return (model as unknown as LoraCache)._loraAdapters?.size ?? 0;
}
