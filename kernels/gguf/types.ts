/** GGUF container constants and the tensor-type table, as defined by ggml (ggml.h, gguf.cpp). */

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** Every tensor type a GGUF file may declare: ggml.h's numbering, type_traits' block layouts (ggml.c). */
export const GGML_TYPES: ReadonlyMap<number, { name: string; blockElements: number; blockBytes: number }> = new Map([
  [0, { name: "F32", blockElements: 1, blockBytes: 4 }],
  [1, { name: "F16", blockElements: 1, blockBytes: 2 }],
  [2, { name: "Q4_0", blockElements: 32, blockBytes: 2 + 16 }],
  [3, { name: "Q4_1", blockElements: 32, blockBytes: 2 + 2 + 16 }],
  [6, { name: "Q5_0", blockElements: 32, blockBytes: 2 + 4 + 16 }],
  [7, { name: "Q5_1", blockElements: 32, blockBytes: 2 + 2 + 4 + 16 }],
  [8, { name: "Q8_0", blockElements: 32, blockBytes: 2 + 32 }],
  [9, { name: "Q8_1", blockElements: 32, blockBytes: 2 + 2 + 32 }],
  [10, { name: "Q2_K", blockElements: 256, blockBytes: 2 + 2 + 16 + 64 }],
  [11, { name: "Q3_K", blockElements: 256, blockBytes: 2 + 64 + 32 + 12 }],
  [12, { name: "Q4_K", blockElements: 256, blockBytes: 2 + 2 + 12 + 128 }],
  [13, { name: "Q5_K", blockElements: 256, blockBytes: 2 + 2 + 12 + 32 + 128 }],
  [14, { name: "Q6_K", blockElements: 256, blockBytes: 128 + 64 + 16 + 2 }],
  [15, { name: "Q8_K", blockElements: 256, blockBytes: 4 + 256 + 32 }],
  [16, { name: "IQ2_XXS", blockElements: 256, blockBytes: 2 + 64 }],
  [17, { name: "IQ2_XS", blockElements: 256, blockBytes: 2 + 64 + 8 }],
  [18, { name: "IQ3_XXS", blockElements: 256, blockBytes: 2 + 96 }],
  [19, { name: "IQ1_S", blockElements: 256, blockBytes: 2 + 32 + 16 }],
  [20, { name: "IQ4_NL", blockElements: 32, blockBytes: 2 + 16 }],
  [21, { name: "IQ3_S", blockElements: 256, blockBytes: 2 + 64 + 8 + 32 + 4 }],
  [22, { name: "IQ2_S", blockElements: 256, blockBytes: 2 + 64 + 8 + 8 }],
  [23, { name: "IQ4_XS", blockElements: 256, blockBytes: 2 + 2 + 4 + 128 }],
  [24, { name: "I8", blockElements: 1, blockBytes: 1 }],
  [25, { name: "I16", blockElements: 1, blockBytes: 2 }],
  [26, { name: "I32", blockElements: 1, blockBytes: 4 }],
  [27, { name: "I64", blockElements: 1, blockBytes: 8 }],
  [28, { name: "F64", blockElements: 1, blockBytes: 8 }],
  [29, { name: "IQ1_M", blockElements: 256, blockBytes: 32 + 16 + 8 }],
  [30, { name: "BF16", blockElements: 1, blockBytes: 2 }],
  [34, { name: "TQ1_0", blockElements: 256, blockBytes: 48 + 4 + 2 }],
  [35, { name: "TQ2_0", blockElements: 256, blockBytes: 64 + 2 }],
  [39, { name: "MXFP4", blockElements: 32, blockBytes: 1 + 16 }],
  [40, { name: "NVFP4", blockElements: 64, blockBytes: 4 + 32 }],
  [41, { name: "Q1_0", blockElements: 128, blockBytes: 2 + 16 }],
  [42, { name: "Q2_0", blockElements: 64, blockBytes: 2 + 16 }],
]);

/** The tensor types this project decodes and encodes (a subset of GGML_TYPES, same numbers). */
export enum TensorType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  IQ4_XS = 23,
  BF16 = 30,
}

export const SUPPORTED_TENSOR_TYPES: readonly TensorType[] = Object.values(TensorType).filter((v): v is TensorType => typeof v === "number");

export function isSupportedTensorType(type: number): type is TensorType {
  return SUPPORTED_TENSOR_TYPES.includes(type);
}

/** "Q5_K", or "unknown type 77" for a number ggml does not define. */
export function ggmlTypeName(type: number): string {
  return GGML_TYPES.get(type)?.name ?? `unknown type ${type}`;
}

/** Bytes of `elementCount` elements of any ggml type; throws for a type ggml does not define or a partial block. */
export function tensorByteSize(type: number, elementCount: number): number {
  const layout = GGML_TYPES.get(type);
  if (layout === undefined) throw new Error(`unknown tensor type ${type}`);
  const { blockElements, blockBytes } = layout;
  if (elementCount % blockElements !== 0) {
    throw new Error(`${layout.name} needs a multiple of ${blockElements} elements, got ${elementCount}`);
  }
  return (elementCount / blockElements) * blockBytes;
}

/** A metadata value with its GGUF type made explicit where JS types are ambiguous. */
export type GgufValue =
  | { type: GgufValueType.STRING; value: string }
  | { type: GgufValueType.BOOL; value: boolean }
  | { type: GgufValueType.UINT32 | GgufValueType.INT32 | GgufValueType.FLOAT32 | GgufValueType.UINT8 | GgufValueType.INT8 | GgufValueType.UINT16 | GgufValueType.INT16 | GgufValueType.FLOAT64; value: number }
  | { type: GgufValueType.UINT64 | GgufValueType.INT64; value: bigint }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.STRING; value: string[] }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.INT32 | GgufValueType.UINT32 | GgufValueType.FLOAT32; value: number[] };

export const gguf = {
  string: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  strings: (value: string[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value }),
  i32s: (value: number[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value }),
  f32s: (value: number[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value }),
};

export type MetadataValue = string | number | bigint | boolean | MetadataValue[];

/**
 * What a GGUF file declares before its tensor data: metadata by key ("general.architecture")
 * and every tensor's ggml shape and type. Enough to check an adapter against a base model.
 */
export interface GgufLayout {
  path: string;
  metadata: ReadonlyMap<string, MetadataValue>;
  tensors: ReadonlyMap<string, { name: string; shape: readonly number[]; type: number }>;
}

/**
 * A tensor to write or one that was read. `shape` is in ggml order: shape[0] is the
 * contiguous (innermost) dimension, so a matrix W[out][in] has shape [in, out].
 */
export interface GgufTensor {
  name: string;
  shape: number[];
  /** A ggml type number (GGML_TYPES): the writer takes any type whose bytes it is given. */
  type: number;
  /** Raw bytes in the tensor's own encoding. */
  data: Uint8Array;
}
