/**
 * Encoders and decoders for the tensor types we read and write. Block layouts follow
 * ggml-quants.c (block_q8_0, block_q4_K, block_q6_K); decoders are the reference
 * dequantize_row_* routines, encoders are simple round-to-nearest quantizers (enough
 * for tests and for users who ask for a quantized export; llama.cpp's own quantizer
 * searches scales more carefully).
 */
import { bf16ToFloat, floatToBf16, floatToHalf, halfToFloat } from "./half.ts";
import { TensorType, TENSOR_TYPE_LAYOUT, tensorByteSize } from "./types.ts";

const QK_K = 256;

export function decodeTensor(type: TensorType, bytes: Uint8Array, elementCount: number): Float32Array {
  const expected = tensorByteSize(type, elementCount);
  if (bytes.byteLength < expected) throw new Error(`tensor data has ${bytes.byteLength} bytes, ${TensorType[type]} x ${elementCount} needs ${expected}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, expected);
  const out = new Float32Array(elementCount);
  switch (type) {
    case TensorType.F32:
      for (let i = 0; i < elementCount; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    case TensorType.F16:
      for (let i = 0; i < elementCount; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    case TensorType.BF16:
      for (let i = 0; i < elementCount; i++) out[i] = bf16ToFloat(view.getUint16(i * 2, true));
      return out;
    case TensorType.Q8_0:
      return decodeQ8_0(view, out);
    case TensorType.Q4_K:
      return decodeQ4_K(view, out);
    case TensorType.Q6_K:
      return decodeQ6_K(view, out);
  }
}

export function encodeTensor(type: TensorType, values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(tensorByteSize(type, values.length));
  const view = new DataView(bytes.buffer);
  switch (type) {
    case TensorType.F32:
      for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
      return bytes;
    case TensorType.F16:
      for (let i = 0; i < values.length; i++) view.setUint16(i * 2, floatToHalf(values[i]!), true);
      return bytes;
    case TensorType.BF16:
      for (let i = 0; i < values.length; i++) view.setUint16(i * 2, floatToBf16(values[i]!), true);
      return bytes;
    case TensorType.Q8_0:
      return encodeQ8_0(values, view, bytes);
    case TensorType.Q4_K:
      return encodeQ4_K(values, bytes);
    case TensorType.Q6_K:
      return encodeQ6_K(values, bytes);
  }
}

function decodeQ8_0(view: DataView, out: Float32Array): Float32Array {
  const { blockBytes } = TENSOR_TYPE_LAYOUT[TensorType.Q8_0];
  for (let b = 0; b * 32 < out.length; b++) {
    const base = b * blockBytes;
    const d = halfToFloat(view.getUint16(base, true));
    for (let j = 0; j < 32; j++) out[b * 32 + j] = d * view.getInt8(base + 2 + j);
  }
  return out;
}

function encodeQ8_0(values: Float32Array, view: DataView, bytes: Uint8Array): Uint8Array {
  const { blockBytes } = TENSOR_TYPE_LAYOUT[TensorType.Q8_0];
  for (let b = 0; b * 32 < values.length; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b * 32 + j]!));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    const base = b * blockBytes;
    view.setUint16(base, floatToHalf(d), true);
    for (let j = 0; j < 32; j++) view.setInt8(base + 2 + j, roundHalfAway(values[b * 32 + j]! * id));
  }
  return bytes;
}

/** get_scale_min_k4 from ggml-quants.c: 6-bit scale and min of sub-block j. */
function scaleMinK4(j: number, scales: Uint8Array): [number, number] {
  if (j < 4) return [scales[j]! & 63, scales[j + 4]! & 63];
  return [(scales[j + 4]! & 0xf) | ((scales[j - 4]! >> 6) << 4), (scales[j + 4]! >> 4) | ((scales[j]! >> 6) << 4)];
}

function decodeQ4_K(view: DataView, out: Float32Array): Float32Array {
  const { blockBytes } = TENSOR_TYPE_LAYOUT[TensorType.Q4_K];
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let b = 0; b * QK_K < out.length; b++) {
    const base = b * blockBytes;
    const d = halfToFloat(view.getUint16(base, true));
    const dmin = halfToFloat(view.getUint16(base + 2, true));
    const scales = bytes.subarray(base + 4, base + 16);
    let q = base + 16;
    let y = b * QK_K;
    for (let j = 0, is = 0; j < QK_K; j += 64, is += 2, q += 32) {
      const [sc1, m1] = scaleMinK4(is, scales);
      const [sc2, m2] = scaleMinK4(is + 1, scales);
      for (let l = 0; l < 32; l++) out[y++] = d * sc1 * (bytes[q + l]! & 0xf) - dmin * m1;
      for (let l = 0; l < 32; l++) out[y++] = d * sc2 * (bytes[q + l]! >> 4) - dmin * m2;
    }
  }
  return out;
}

function encodeQ4_K(values: Float32Array, bytes: Uint8Array): Uint8Array {
  const { blockBytes } = TENSOR_TYPE_LAYOUT[TensorType.Q4_K];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b * QK_K < values.length; b++) {
    const x = values.subarray(b * QK_K, (b + 1) * QK_K);
    const subScale = new Float64Array(8);
    const subMin = new Float64Array(8); // stored as a positive offset: x ~ scale*q - min
    for (let j = 0; j < 8; j++) {
      let lo = 0;
      let hi = -Infinity;
      for (let l = 0; l < 32; l++) {
        lo = Math.min(lo, x[j * 32 + l]!);
        hi = Math.max(hi, x[j * 32 + l]!);
      }
      subScale[j] = (hi - lo) / 15;
      subMin[j] = -lo;
    }
    const maxScale = Math.max(...subScale);
    const maxMin = Math.max(...subMin);
    const base = b * blockBytes;
    const scales = bytes.subarray(base + 4, base + 16);
    for (let j = 0; j < 8; j++) {
      const ls = maxScale > 0 ? Math.min(63, Math.round((63 / maxScale) * subScale[j]!)) : 0;
      const lm = maxMin > 0 ? Math.min(63, Math.round((63 / maxMin) * subMin[j]!)) : 0;
      if (j < 4) {
        scales[j] = ls;
        scales[j + 4] = lm;
      } else {
        scales[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        scales[j - 4] = scales[j - 4]! | ((ls >> 4) << 6);
        scales[j] = scales[j]! | ((lm >> 4) << 6);
      }
    }
    view.setUint16(base, floatToHalf(maxScale / 63), true);
    view.setUint16(base + 2, floatToHalf(maxMin / 63), true);
    const d = halfToFloat(view.getUint16(base, true));
    const dmin = halfToFloat(view.getUint16(base + 2, true));
    const levels = new Uint8Array(QK_K);
    for (let j = 0; j < 8; j++) {
      const [sc, m] = scaleMinK4(j, scales);
      const step = d * sc;
      const offset = dmin * m;
      for (let l = 0; l < 32; l++) {
        levels[j * 32 + l] = step ? clamp(Math.round((x[j * 32 + l]! + offset) / step), 0, 15) : 0;
      }
    }
    let q = base + 16;
    for (let j = 0; j < QK_K; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) bytes[q + l] = levels[j + l]! | (levels[j + l + 32]! << 4);
    }
  }
  return bytes;
}

function decodeQ6_K(view: DataView, out: Float32Array): Float32Array {
  const { blockBytes } = TENSOR_TYPE_LAYOUT[TensorType.Q6_K];
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let b = 0; b * QK_K < out.length; b++) {
    const base = b * blockBytes;
    const d = halfToFloat(view.getUint16(base + 208, true));
    let ql = base;
    let qh = base + 128;
    let sc = base + 192;
    let y = b * QK_K;
    for (let n = 0; n < QK_K; n += 128, ql += 64, qh += 32, sc += 8, y += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const q1 = ((bytes[ql + l]! & 0xf) | (((bytes[qh + l]! >> 0) & 3) << 4)) - 32;
        const q2 = ((bytes[ql + l + 32]! & 0xf) | (((bytes[qh + l]! >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l]! >> 4) | (((bytes[qh + l]! >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + l + 32]! >> 4) | (((bytes[qh + l]! >> 6) & 3) << 4)) - 32;
        out[y + l] = d * view.getInt8(sc + is) * q1;
        out[y + l + 32] = d * view.getInt8(sc + is + 2) * q2;
        out[y + l + 64] = d * view.getInt8(sc + is + 4) * q3;
        out[y + l + 96] = d * view.getInt8(sc + is + 6) * q4;
      }
    }
  }
  return out;
}

function encodeQ6_K(values: Float32Array, bytes: Uint8Array): Uint8Array {
  const { blockBytes } = TENSOR_TYPE_LAYOUT[TensorType.Q6_K];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b * QK_K < values.length; b++) {
    const x = values.subarray(b * QK_K, (b + 1) * QK_K);
    const subScale = new Float64Array(16);
    for (let j = 0; j < 16; j++) {
      let amax = 0;
      for (let l = 0; l < 16; l++) amax = Math.max(amax, Math.abs(x[j * 16 + l]!));
      subScale[j] = amax / 31;
    }
    const maxScale = Math.max(...subScale);
    const base = b * blockBytes;
    const iscale = maxScale > 0 ? 127 / maxScale : 0;
    view.setUint16(base + 208, floatToHalf(iscale ? 1 / iscale : 0), true);
    const d = halfToFloat(view.getUint16(base + 208, true));
    const levels = new Uint8Array(QK_K);
    for (let j = 0; j < 16; j++) {
      const sc = Math.min(127, Math.round(iscale * subScale[j]!));
      view.setInt8(base + 192 + j, sc);
      const step = d * sc;
      for (let l = 0; l < 16; l++) levels[j * 16 + l] = step ? clamp(Math.round(x[j * 16 + l]! / step), -32, 31) + 32 : 32;
    }
    let ql = base;
    let qh = base + 128;
    for (let j = 0; j < QK_K; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const [a, c, e, g] = [levels[j + l]!, levels[j + l + 32]!, levels[j + l + 64]!, levels[j + l + 96]!];
        bytes[ql + l] = (a & 0xf) | ((e & 0xf) << 4);
        bytes[ql + l + 32] = (c & 0xf) | ((g & 0xf) << 4);
        bytes[qh + l] = (a >> 4) | ((c >> 4) << 2) | ((e >> 4) << 4) | ((g >> 4) << 6);
      }
    }
  }
  return bytes;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** C's roundf: halves away from zero. */
function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}
