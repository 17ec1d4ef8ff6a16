/** Writes LoRA adapters as llama.cpp LoRA GGUF files (format.ts). */
import { encodeTensor } from "../gguf/quant.ts";
import { gguf, TensorType, type GgufTensor, type GgufValue } from "../gguf/types.ts";
import { encodeGguf, writeGgufFile } from "../gguf/writer.ts";
import { ADAPTER_KEYS, ADAPTER_TYPE_LORA, GENERAL_TYPE_ADAPTER, loraTensorNames } from "./format.ts";
import { assertConsistent, type LoraAdapter } from "./types.ts";

export type AdapterTensorType = TensorType.F32 | TensorType.F16;

export interface WriteAdapterOptions {
  /** Type of the A and B tensors: F32 (default, exact) or F16. */
  type?: AdapterTensorType;
}

export function adapterMetadata(adapter: LoraAdapter): Record<string, GgufValue> {
  return {
    [ADAPTER_KEYS.generalType]: gguf.string(GENERAL_TYPE_ADAPTER),
    [ADAPTER_KEYS.architecture]: gguf.string(adapter.architecture),
    [ADAPTER_KEYS.name]: gguf.string(adapter.name),
    [ADAPTER_KEYS.adapterType]: gguf.string(ADAPTER_TYPE_LORA),
    [ADAPTER_KEYS.alpha]: gguf.f32(adapter.alpha),
  };
}

/** A and B for every adapted projection; the row-major arrays are already ggml's layout. */
export function adapterTensors(adapter: LoraAdapter, type: AdapterTensorType = TensorType.F32): GgufTensor[] {
  return adapter.weights.flatMap((w) => {
    const names = loraTensorNames(w.layer, w.projection);
    return [
      { name: names.a, shape: [w.inDim, adapter.rank], type, data: encodeTensor(type, w.a) },
      { name: names.b, shape: [adapter.rank, w.outDim], type, data: encodeTensor(type, w.b) },
    ];
  });
}

export function encodeLoraAdapter(adapter: LoraAdapter, options: WriteAdapterOptions = {}): Uint8Array {
  assertConsistent(adapter);
  return encodeGguf(adapterMetadata(adapter), adapterTensors(adapter, options.type));
}

/** Atomic, like every GGUF write: a loader never sees half an adapter. */
export function writeLoraAdapter(path: string, adapter: LoraAdapter, options: WriteAdapterOptions = {}): void {
  assertConsistent(adapter);
  writeGgufFile(path, adapterMetadata(adapter), adapterTensors(adapter, options.type));
}
