/** Typed errors for GGUF files: each names the file (and the tensor, where one is at fault). */
import { ggmlTypeName, SUPPORTED_TENSOR_TYPES, TensorType } from "./types.ts";

export class GgufFormatError extends Error {
  constructor(readonly path: string, message: string, readonly tensor?: string) {
    super(`${path}${tensor ? ` (tensor ${tensor})` : ""}: ${message}`);
    this.name = "GgufFormatError";
  }
}

/**
 * A well-formed tensor in a type ggml defines but this project cannot decode (IQ2_XXS, Q3_K, ...):
 * llama.cpp may serve the file, the tfjs side cannot read that tensor.
 */
export class UnsupportedTensorTypeError extends GgufFormatError {
  constructor(path: string, readonly type: number, tensor?: string) {
    super(path, `tensor type ${ggmlTypeName(type)} is not supported (supported: ${SUPPORTED_TENSOR_TYPES.map((t) => TensorType[t]).join(", ")})`, tensor);
    this.name = "UnsupportedTensorTypeError";
  }

  get typeName(): string {
    return ggmlTypeName(this.type);
  }
}
