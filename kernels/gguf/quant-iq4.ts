/**
 * IQ4_XS: 256-element super-blocks of eight 32-element blocks, each element a 4-bit index into
 * the non-linear kvalues_iq4nl table, each block a 6-bit scale (ggml-common.h: block_iq4_xs).
 * The decoder is ggml-quants.c's dequantize_row_iq4_xs; the encoder follows its
 * quantize_row_iq4_nl_impl without importance weights (ntry = 7).
 */
import { dataView, type Codec } from "./codec.ts";
import { floatToHalf, halfToFloat } from "./half.ts";

const QK_K = 256;
const BLOCK = 32;
const BLOCK_BYTES = 2 + 2 + 4 + 128;
const GROUP_MAX_EPS = 1e-15;
const NTRY = 7;

/** kvalues_iq4nl (ggml-common.h). */
const KVALUES = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113] as const;

/** best_index_int8: the table entry nearest x (the lower one on ties). */
function nearestIndex(x: number): number {
  if (x <= KVALUES[0]) return 0;
  if (x >= KVALUES[15]) return 15;
  let lo = 0;
  let hi = 15;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x < KVALUES[mid]!) hi = mid;
    else lo = mid;
  }
  return x - KVALUES[hi - 1]! < KVALUES[hi]! - x ? hi - 1 : hi;
}

/** The block scale d minimising Σ x²·(x − d·q)² over a few candidate grids (quantize_row_iq4_nl_impl). */
function blockScale(x: Float32Array): number {
  let amax = 0;
  let max = 0;
  for (const v of x) {
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  if (amax < GROUP_MAX_EPS) return 0;
  const fit = (id: number): { sumqx: number; sumq2: number } => {
    let sumqx = 0;
    let sumq2 = 0;
    for (const v of x) {
      const q = KVALUES[nearestIndex(id * v)]!;
      const w = v * v;
      sumqx += w * q * v;
      sumq2 += w * q * q;
    }
    return { sumqx, sumq2 };
  };
  const first = fit(-KVALUES[0] / max);
  let d = first.sumq2 > 0 ? first.sumqx / first.sumq2 : 0;
  let best = d * first.sumqx;
  for (let itry = -NTRY; itry <= NTRY; itry++) {
    const { sumqx, sumq2 } = fit((itry + KVALUES[0]) / max);
    if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
    }
  }
  return d;
}

export const iq4_xs: Codec = {
  decode(bytes, out) {
    const view = dataView(bytes);
    for (let b = 0; b * QK_K < out.length; b++) {
      const base = b * BLOCK_BYTES;
      const d = halfToFloat(view.getUint16(base, true));
      const scalesH = view.getUint16(base + 2, true);
      for (let ib = 0; ib < QK_K / BLOCK; ib++) {
        const ls = ((bytes[base + 4 + (ib >> 1)]! >> (4 * (ib % 2))) & 0xf) | (((scalesH >> (2 * ib)) & 3) << 4);
        const dl = d * (ls - 32);
        const qs = base + 8 + ib * 16;
        const y = b * QK_K + ib * BLOCK;
        for (let j = 0; j < 16; j++) {
          out[y + j] = dl * KVALUES[bytes[qs + j]! & 0xf]!;
          out[y + j + 16] = dl * KVALUES[bytes[qs + j]! >> 4]!;
        }
      }
    }
  },
  encode(values, bytes) {
    const view = dataView(bytes);
    for (let b = 0; b * QK_K < values.length; b++) {
      const x = values.subarray(b * QK_K, (b + 1) * QK_K);
      const scales = Array.from({ length: QK_K / BLOCK }, (_, ib) => blockScale(x.subarray(ib * BLOCK, (ib + 1) * BLOCK)));
      let maxScale = 0;
      for (const s of scales) if (Math.abs(s) > Math.abs(maxScale)) maxScale = s;
      const base = b * BLOCK_BYTES;
      view.setUint16(base, floatToHalf(-maxScale / 32), true);
      // Levels are chosen against the stored (half-precision) super-block scale, the one decoding uses.
      const d = halfToFloat(view.getUint16(base, true));
      const id = d ? 1 / d : 0;
      let scalesH = 0;
      for (let ib = 0; ib < QK_K / BLOCK; ib++) {
        const l = Math.max(-32, Math.min(31, Math.round(id * scales[ib]!)));
        const dl = d * l;
        const idl = dl ? 1 / dl : 0;
        const qs = base + 8 + ib * 16;
        for (let j = 0; j < 16; j++) {
          const lo = nearestIndex(idl * x[ib * BLOCK + j]!);
          const hi = nearestIndex(idl * x[ib * BLOCK + j + 16]!);
          bytes[qs + j] = lo | (hi << 4);
        }
        const stored = l + 32;
        bytes[base + 4 + (ib >> 1)] = bytes[base + 4 + (ib >> 1)]! | ((stored & 0xf) << (4 * (ib % 2)));
        scalesH |= (stored >> 4) << (2 * ib);
      }
      view.setUint16(base + 2, scalesH, true);
    }
  },
};
