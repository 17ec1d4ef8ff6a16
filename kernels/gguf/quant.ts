/**
 * Decoding and encoding of every tensor type in `TensorType`. Block layouts follow ggml-common.h
 * and ggml-quants.c (see each codec's file); a type ggml defines but we do not decode is refused
 * with an UnsupportedTensorTypeError naming it.
 */
import { dataView, type Codec } from "./codec.ts";
import { UnsupportedTensorTypeError } from "./errors.ts";
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from "./half.ts";
import { iq4_xs } from "./quant-iq4.ts";
import { K_CODECS } from "./quant-k.ts";
import { LEGACY_CODECS } from "./quant-legacy.ts";
import { isSupportedTensorType, TensorType, tensorByteSize } from "./types.ts";

const f32: Codec = {
  decode(bytes, out) {
    const view = dataView(bytes);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  },
  encode(values, bytes) {
    const view = dataView(bytes);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  },
};

function sixteenBit(toFloat: (bits: number) => number, fromFloat: (value: number) => number): Codec {
  return {
    decode(bytes, out) {
      const view = dataView(bytes);
      for (let i = 0; i < out.length; i++) out[i] = toFloat(view.getUint16(i * 2, true));
    },
    encode(values, bytes) {
      const view = dataView(bytes);
      for (let i = 0; i < values.length; i++) view.setUint16(i * 2, fromFloat(values[i]!), true);
    },
  };
}

const CODECS: Record<TensorType, Codec> = {
  [TensorType.F32]: f32,
  [TensorType.F16]: sixteenBit(halfToFloat, floatToHalf),
  [TensorType.BF16]: sixteenBit(bf16ToFloat, floatToBf16),
  [TensorType.Q4_0]: LEGACY_CODECS.q4_0,
  [TensorType.Q4_1]: LEGACY_CODECS.q4_1,
  [TensorType.Q5_0]: LEGACY_CODECS.q5_0,
  [TensorType.Q5_1]: LEGACY_CODECS.q5_1,
  [TensorType.Q8_0]: LEGACY_CODECS.q8_0,
  [TensorType.Q4_K]: K_CODECS.q4_K,
  [TensorType.Q5_K]: K_CODECS.q5_K,
  [TensorType.Q6_K]: K_CODECS.q6_K,
  [TensorType.IQ4_XS]: iq4_xs,
};

function codec(type: number): Codec {
  if (!isSupportedTensorType(type)) throw new UnsupportedTensorTypeError("<tensor data>", type);
  return CODECS[type];
}

export function decodeTensor(type: number, bytes: Uint8Array, elementCount: number): Float32Array {
  const decoder = codec(type);
  const expected = tensorByteSize(type, elementCount);
  if (bytes.byteLength < expected) throw new Error(`tensor data has ${bytes.byteLength} bytes, ${TensorType[type]} x ${elementCount} needs ${expected}`);
  const out = new Float32Array(elementCount);
  decoder.decode(bytes.subarray(0, expected), out);
  return out;
}

export function encodeTensor(type: TensorType, values: Float32Array): Uint8Array {
  const encoder = codec(type);
  const bytes = new Uint8Array(tensorByteSize(type, values.length));
  encoder.encode(values, bytes);
  return bytes;
}
