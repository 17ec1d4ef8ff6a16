/**
 * ggml's original 32-element block quants (ggml-common.h: block_q4_0, block_q4_1, block_q5_0,
 * block_q5_1, block_q8_0). Decoders are dequantize_row_* from ggml-quants.c; encoders follow its
 * quantize_row_*_ref step for step, rounding to float32 where the C code does.
 */
import { clamp, dataView, roundHalfAway, type Codec } from "./codec.ts";
import { floatToHalf, halfToFloat } from "./half.ts";

const QK = 32;
const f32 = Math.fround;

/** Per block: the value of largest magnitude (signed, the first one on ties), as the _ref quantizers pick it. */
function signedAbsMax(x: Float32Array): number {
  let amax = 0;
  let max = 0;
  for (const v of x) {
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

function range(x: Float32Array): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { min, max };
}

/** How a block's values map to levels (x ≈ d·level + m), found as quantize_row_*_ref does: trunc((x − from)·(1/d) + bias). */
interface BlockScale {
  d: number;
  /** Stored only by the types with a minimum (Q4_1, Q5_1). */
  m: number;
  from: number;
  bias: number;
}

/** Q4_0, Q5_0: d = (value of largest magnitude) / −2^(bits−1), levels centred on 2^(bits−1). */
function symmetricScale(bits: 4 | 5) {
  const centre = 1 << (bits - 1);
  return (x: Float32Array): BlockScale => ({ d: f32(signedAbsMax(x) / -centre), m: 0, from: 0, bias: centre + 0.5 });
}

/** Q4_1, Q5_1: the block's range over 2^bits − 1 steps, starting at its minimum. */
function offsetScale(bits: 4 | 5) {
  return (x: Float32Array): BlockScale => {
    const { min, max } = range(x);
    return { d: f32((max - min) / ((1 << bits) - 1)), m: min, from: min, bias: 0.5 };
  };
}

/**
 * A 32-element block type: f16 d, f16 m (types with a minimum), 32 fifth bits (5-bit types),
 * then 16 bytes of nibbles, element j in the low nibble of byte j and element j + 16 in its high nibble.
 * Symmetric types store no m: their levels are shifted down by 2^(bits−1) instead.
 */
function blockCodec(bits: 4 | 5, withMin: boolean, scale: (x: Float32Array) => BlockScale): Codec {
  const qhAt = withMin ? 4 : 2;
  const qsAt = qhAt + (bits === 5 ? 4 : 0);
  const blockBytes = qsAt + QK / 2;
  const top = (1 << bits) - 1;
  return {
    decode(bytes, out) {
      const view = dataView(bytes);
      for (let b = 0; b * QK < out.length; b++) {
        const base = b * blockBytes;
        const d = halfToFloat(view.getUint16(base, true));
        const m = withMin ? halfToFloat(view.getUint16(base + 2, true)) : 0;
        const shift = withMin ? 0 : 1 << (bits - 1);
        const qh = bits === 5 ? view.getUint32(base + qhAt, true) : 0;
        for (let j = 0; j < QK / 2; j++) {
          const q = bytes[base + qsAt + j]!;
          const h0 = ((qh >>> j) << 4) & 0x10;
          const h1 = (qh >>> (j + 12)) & 0x10;
          out[b * QK + j] = (((q & 0xf) | h0) - shift) * d + m;
          out[b * QK + j + QK / 2] = (((q >> 4) | h1) - shift) * d + m;
        }
      }
    },
    encode(values, bytes) {
      const view = dataView(bytes);
      for (let b = 0; b * QK < values.length; b++) {
        const x = values.subarray(b * QK, (b + 1) * QK);
        const { d, m, from, bias } = scale(x);
        const id = d ? f32(1 / d) : 0;
        const base = b * blockBytes;
        view.setUint16(base, floatToHalf(d), true);
        if (withMin) view.setUint16(base + 2, floatToHalf(m), true);
        const level = (v: number): number => clamp(Math.trunc(f32(f32(f32(v - from) * id) + bias)), 0, top);
        let qh = 0;
        for (let j = 0; j < QK / 2; j++) {
          const l0 = level(x[j]!);
          const l1 = level(x[j + QK / 2]!);
          bytes[base + qsAt + j] = (l0 & 0xf) | ((l1 & 0xf) << 4);
          qh |= ((l0 >> 4) << j) | ((l1 >> 4) << (j + QK / 2));
        }
        if (bits === 5) view.setUint32(base + qhAt, qh >>> 0, true);
      }
    },
  };
}

const q8_0: Codec = {
  decode(bytes, out) {
    const view = dataView(bytes);
    for (let b = 0; b * QK < out.length; b++) {
      const base = b * (2 + QK);
      const d = halfToFloat(view.getUint16(base, true));
      for (let j = 0; j < QK; j++) out[b * QK + j] = d * view.getInt8(base + 2 + j);
    }
  },
  encode(values, bytes) {
    const view = dataView(bytes);
    for (let b = 0; b * QK < values.length; b++) {
      let amax = 0;
      for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(values[b * QK + j]!));
      const d = f32(amax / 127);
      const id = d ? f32(1 / d) : 0;
      const base = b * (2 + QK);
      view.setUint16(base, floatToHalf(d), true);
      for (let j = 0; j < QK; j++) view.setInt8(base + 2 + j, roundHalfAway(f32(values[b * QK + j]! * id)));
    }
  },
};

export const LEGACY_CODECS = {
  q4_0: blockCodec(4, false, symmetricScale(4)),
  q5_0: blockCodec(5, false, symmetricScale(5)),
  q4_1: blockCodec(4, true, offsetScale(4)),
  q5_1: blockCodec(5, true, offsetScale(5)),
  q8_0,
};
