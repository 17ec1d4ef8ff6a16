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

/** The ggml tensor types this project reads or writes (numbering from ggml.h). */
export enum TensorType {
  F32 = 0,
  F16 = 1,
  Q8_0 = 8,
  Q4_K = 12,
  Q6_K = 14,
  BF16 = 30,
}

/** Elements per block and bytes per block for each supported tensor type. */
export const TENSOR_TYPE_LAYOUT: Record<TensorType, { blockElements: number; blockBytes: number }> = {
  [TensorType.F32]: { blockElements: 1, blockBytes: 4 },
  [TensorType.F16]: { blockElements: 1, blockBytes: 2 },
  [TensorType.BF16]: { blockElements: 1, blockBytes: 2 },
  [TensorType.Q8_0]: { blockElements: 32, blockBytes: 2 + 32 },
  [TensorType.Q4_K]: { blockElements: 256, blockBytes: 2 + 2 + 12 + 128 },
  [TensorType.Q6_K]: { blockElements: 256, blockBytes: 128 + 64 + 16 + 2 },
};

export function isSupportedTensorType(type: number): type is TensorType {
  return Object.prototype.hasOwnProperty.call(TENSOR_TYPE_LAYOUT, type);
}

export function tensorByteSize(type: TensorType, elementCount: number): number {
  const { blockElements, blockBytes } = TENSOR_TYPE_LAYOUT[type];
  if (elementCount % blockElements !== 0) {
    throw new Error(`${TensorType[type]} needs a multiple of ${blockElements} elements, got ${elementCount}`);
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

/**
 * A tensor to write or one that was read. `shape` is in ggml order: shape[0] is the
 * contiguous (innermost) dimension, so a matrix W[out][in] has shape [in, out].
 */
export interface GgufTensor {
  name: string;
  shape: number[];
  type: TensorType;
  /** Raw bytes in the tensor's own encoding. */
  data: Uint8Array;
}
