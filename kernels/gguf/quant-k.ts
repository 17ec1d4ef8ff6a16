/**
 * K-quants: 256-element super-blocks (ggml-common.h: block_q4_K, block_q5_K, block_q6_K).
 * Decoders are ggml-quants.c's dequantize_row_q{4,5,6}_K; encoders are round-to-nearest
 * quantizers on each sub-block's range (llama.cpp's own search for scales is more careful;
 * ours is enough for tests and random bases).
 */
import { clamp, dataView, type Codec } from "./codec.ts";
import { floatToHalf, halfToFloat } from "./half.ts";

const QK_K = 256;

/** get_scale_min_k4 from ggml-quants.c: 6-bit scale and min of sub-block j. */
function scaleMinK4(j: number, scales: Uint8Array): [number, number] {
  if (j < 4) return [scales[j]! & 63, scales[j + 4]! & 63];
  return [(scales[j + 4]! & 0xf) | ((scales[j - 4]! >> 6) << 4), (scales[j + 4]! >> 4) | ((scales[j]! >> 6) << 4)];
}

/**
 * The shared head of Q4_K and Q5_K (d, dmin, 12 bytes of 6-bit scales and mins), written for the
 * super-block `x`; returns each element's level in [0, maxLevel], with x ≈ d·sc·level − dmin·m.
 */
function encodeScaleMinHead(x: Float32Array, maxLevel: number, view: DataView, bytes: Uint8Array, base: number): Uint8Array {
  const subScale = new Float64Array(8);
  const subMin = new Float64Array(8); // stored as a positive offset: x ~ scale*q - min
  for (let j = 0; j < 8; j++) {
    let lo = 0;
    let hi = -Infinity;
    for (let l = 0; l < 32; l++) {
      lo = Math.min(lo, x[j * 32 + l]!);
      hi = Math.max(hi, x[j * 32 + l]!);
    }
    subScale[j] = (hi - lo) / maxLevel;
    subMin[j] = -lo;
  }
  const maxScale = Math.max(...subScale);
  const maxMin = Math.max(...subMin);
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
      levels[j * 32 + l] = step ? clamp(Math.round((x[j * 32 + l]! + offset) / step), 0, maxLevel) : 0;
    }
  }
  return levels;
}

const q4_K: Codec = {
  decode(bytes, out) {
    const view = dataView(bytes);
    const blockBytes = 2 + 2 + 12 + 128;
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
  },
  encode(values, bytes) {
    const view = dataView(bytes);
    const blockBytes = 2 + 2 + 12 + 128;
    for (let b = 0; b * QK_K < values.length; b++) {
      const base = b * blockBytes;
      const levels = encodeScaleMinHead(values.subarray(b * QK_K, (b + 1) * QK_K), 15, view, bytes, base);
      let q = base + 16;
      for (let j = 0; j < QK_K; j += 64, q += 32) {
        for (let l = 0; l < 32; l++) bytes[q + l] = levels[j + l]! | (levels[j + l + 32]! << 4);
      }
    }
  },
};

/** Q5_K is Q4_K plus a fifth bit per element: 32 bytes of high bits after the scales (qh), then the nibbles (qs). */
const q5_K: Codec = {
  decode(bytes, out) {
    const view = dataView(bytes);
    const blockBytes = 2 + 2 + 12 + 32 + 128;
    for (let b = 0; b * QK_K < out.length; b++) {
      const base = b * blockBytes;
      const d = halfToFloat(view.getUint16(base, true));
      const dmin = halfToFloat(view.getUint16(base + 2, true));
      const scales = bytes.subarray(base + 4, base + 16);
      const qh = base + 16;
      let ql = base + 48;
      let y = b * QK_K;
      for (let j = 0, is = 0, u1 = 1, u2 = 2; j < QK_K; j += 64, is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
        const [sc1, m1] = scaleMinK4(is, scales);
        const [sc2, m2] = scaleMinK4(is + 1, scales);
        for (let l = 0; l < 32; l++) out[y++] = d * sc1 * ((bytes[ql + l]! & 0xf) + (bytes[qh + l]! & u1 ? 16 : 0)) - dmin * m1;
        for (let l = 0; l < 32; l++) out[y++] = d * sc2 * ((bytes[ql + l]! >> 4) + (bytes[qh + l]! & u2 ? 16 : 0)) - dmin * m2;
      }
    }
  },
  encode(values, bytes) {
    const view = dataView(bytes);
    const blockBytes = 2 + 2 + 12 + 32 + 128;
    for (let b = 0; b * QK_K < values.length; b++) {
      const base = b * blockBytes;
      const levels = encodeScaleMinHead(values.subarray(b * QK_K, (b + 1) * QK_K), 31, view, bytes, base);
      const qh = base + 16;
      let ql = base + 48;
      for (let n = 0, m1 = 1, m2 = 2; n < QK_K; n += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
        for (let j = 0; j < 32; j++) {
          const l1 = levels[n + j]!;
          const l2 = levels[n + j + 32]!;
          if (l1 > 15) bytes[qh + j] = bytes[qh + j]! | m1;
          if (l2 > 15) bytes[qh + j] = bytes[qh + j]! | m2;
          bytes[ql + j] = (l1 & 0xf) | ((l2 & 0xf) << 4);
        }
      }
    }
  },
};

const q6_K: Codec = {
  decode(bytes, out) {
    const view = dataView(bytes);
    const blockBytes = 128 + 64 + 16 + 2;
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
  },
  encode(values, bytes) {
    const view = dataView(bytes);
    const blockBytes = 128 + 64 + 16 + 2;
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
  },
};

export const K_CODECS = { q4_K, q5_K, q6_K };
