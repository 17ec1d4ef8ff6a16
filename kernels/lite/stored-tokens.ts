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

/** Every half's float value, so unpacking is a table lookup per value. */
let halves: Float32Array | undefined;

export function unpackTokens(bytes: Uint8Array, dimensions: number): TokenMatrix {
  if (bytes.length % (2 * dimensions) !== 0) throw new Error(`stored tokens: ${bytes.length} bytes is not a whole number of ${dimensions}-dimensional half vectors`);
  halves ??= Float32Array.from({ length: 65_536 }, (_, h) => halfToFloat(h));
  const table = halves;
  const data = new Float32Array(bytes.length / 2);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < data.length; i++) data[i] = table[view.getUint16(2 * i, true)]!;
  return { length: data.length / dimensions, dimensions, data };
}
