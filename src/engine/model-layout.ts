import type { GgufLayout, MetadataValue } from "../../kernels/gguf/types.ts";
import type { ServedModel } from "./served-model.ts";

/**
 * A served model's GGUF layout (metadata by dotted key, tensor names, ggml shapes and types) as
 * node-llama-cpp parsed it when the model loaded: no second read of the file, nothing of the
 * tensor data, and every quantization llama.cpp loads.
 */
export function modelLayout(served: ServedModel): GgufLayout {
  const info = served.model.fileInfo;
  const tensorInfo = info.fullTensorInfo ?? info.tensorInfo;
  if (tensorInfo === undefined) throw new Error(`node-llama-cpp kept no tensor info for ${served.path}`);
  const tensors = new Map(tensorInfo.map((tensor) => [tensor.name, { name: tensor.name, shape: tensor.dimensions.map(Number), type: tensor.ggmlType as number }]));
  const metadata = new Map<string, MetadataValue>();
  flatten(info.metadata as unknown as Record<string, unknown>, "", metadata);
  return { path: served.path, metadata, tensors };
}

/** node-llama-cpp nests metadata by the dots in its keys ({general: {architecture}}); GGUF keys are the dotted paths. */
function flatten(node: Record<string, unknown>, prefix: string, into: Map<string, MetadataValue>): void {
  for (const [key, value] of Object.entries(node)) {
    const path = prefix + key;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) flatten(value as Record<string, unknown>, `${path}.`, into);
    else into.set(path, value as MetadataValue);
  }
}
