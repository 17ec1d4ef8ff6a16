/** LoRA adapters: llama.cpp's LoRA GGUF files, validated against a base, and as a tfjs ProjectionDelta. */
export { AdapterError, AdapterFormatError, AdapterMismatchError, type AdapterErrorKind } from "./errors.ts";
export { ADAPTER_KEYS, effectiveScale, loraTensorNames, parseLoraTensorName } from "./format.ts";
export type { LoraAdapter, LoraWeight } from "./types.ts";
export { encodeLoraAdapter, writeLoraAdapter, type AdapterTensorType, type WriteAdapterOptions } from "./write.ts";
export { parseLoraAdapter, readLoraAdapter, validateAgainstBase, type AdapterBase, type AdapterSummary, type AdapterTarget } from "./read.ts";
export { randomLoraAdapter, type RandomAdapterOptions } from "./random.ts";
export { projectionDelta, type LoraProjectionDelta } from "./delta.ts";
