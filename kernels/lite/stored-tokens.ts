import { floatToHalf, halfToFloat } from "../gguf/half.ts";
import type { TokenMatrix } from "./token-matrix.ts";

/**
 * The document form LITE stores: its token vectors as little-endian IEEE halves, `length x
 * dimensions` (the length follows from the byte count). Scorers always read documents through
 * this form, so a document read from a cache scores exactly as one encoded for the request.
 */
export function packTokens(tokens: TokenMatrix): Uint8Array {
  const bytes = new Uint8Array(tokens.length * tokens.dimensions * 2);
  const view = new DataView(bytes.buffer);
  const data = tokens.data;
  for (let i = 0; i < data.length; i++) view.setUint16(2 * i, floatToHalf(data[i]!), true);
  return bytes;
}

const littleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** Every half's float value, so unpacking is a table lookup per value. */
let halves: Float32Array | undefined;

/** The token matrix of a stored form; written into `scratch` when it is large enough (a request scores many documents through one buffer). */
export function unpackTokens(bytes: Uint8Array, dimensions: number, scratch?: Float32Array): TokenMatrix {
  if (bytes.length % (2 * dimensions) !== 0) throw new Error(`stored tokens: ${bytes.length} bytes is not a whole number of ${dimensions}-dimensional half vectors`);
  halves ??= Float32Array.from({ length: 65_536 }, (_, h) => halfToFloat(h));
  const table = halves;
  const data = scratch !== undefined && scratch.length >= bytes.length / 2 ? scratch.subarray(0, bytes.length / 2) : new Float32Array(bytes.length / 2);
  if (littleEndian) {
    // A Uint16Array view is several times faster than a DataView; it needs an even offset (a Redis reply may not have one).
    const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
    const values = new Uint16Array(aligned.buffer, aligned.byteOffset, data.length);
    for (let i = 0; i < data.length; i++) data[i] = table[values[i]!]!;
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < data.length; i++) data[i] = table[view.getUint16(2 * i, true)]!;
  }
  return { length: data.length / dimensions, dimensions, data };
}
