/** How one tensor type turns bytes into values and back; every codec works on whole blocks. */
export interface Codec {
  /** Fills `out` (a whole number of blocks) from `bytes` (exactly that many blocks). */
  decode(bytes: Uint8Array, out: Float32Array): void;
  /** Fills `bytes` (zeroed, exactly the blocks `values` needs) from `values`. */
  encode(values: Float32Array, bytes: Uint8Array): void;
}

export function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** C's roundf: halves away from zero. */
export function roundHalfAway(v: number): number {
  return Math.sign(v) * Math.round(Math.abs(v));
}
