import { liteLayout, type LiteShape } from "./scorer.ts";
import type { DocumentTokens } from "./token-encoder.ts";
import type { TransformerSpec } from "./transformer-encoder.ts";
import { WordVectors } from "./word-vectors.ts";

/**
 * A LITE reranker artifact: the frozen token encoder and one or more trained scorers over it,
 * in one binary file:
 *   "LITE" | u32 version | u32 header bytes | header JSON | int8 word rows | f32 parameters per scorer
 * (little-endian, parameter blocks 4-byte aligned). A word encoder's words are in the header and
 * its rows follow it; a transformer encoder is the GGUF the header names (its path, sha256, layer
 * and centre), and has no rows.
 */
export interface LiteScorerEntry {
  name: string;
  shape: LiteShape;
  /** Which document tokens the scorer stores and reads (token-encoder.ts). */
  documentTokens: DocumentTokens;
  params: Float64Array;
}

export type LiteEncoderEntry = { name: string; vectors: WordVectors } | { name: string; transformer: TransformerSpec };

export interface LiteArtifact {
  encoder: LiteEncoderEntry;
  scorers: LiteScorerEntry[];
}

interface Header {
  encoder: { name: string; dimensions: number; words: string[] } | { name: string; transformer: TransformerSpec };
  scorers: { name: string; shape: LiteShape; documentTokens: DocumentTokens }[];
}

const MAGIC = "LITE";
const VERSION = 1;

export function encodeLiteArtifact(artifact: LiteArtifact): Uint8Array {
  const { encoder } = artifact;
  const vectors = "vectors" in encoder ? encoder.vectors : undefined;
  const header: Header = {
    encoder: "vectors" in encoder ? { name: encoder.name, dimensions: encoder.vectors.dimensions, words: [...encoder.vectors.words] } : { name: encoder.name, transformer: encoder.transformer },
    scorers: artifact.scorers.map(({ name, shape, documentTokens }) => ({ name, shape, documentTokens })),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const rowsStart = 12 + headerBytes.length;
  const rows = vectors?.rows ?? new Int8Array(0);
  const paramsStart = align4(rowsStart + rows.length);
  const total = paramsStart + artifact.scorers.reduce((sum, scorer) => sum + 4 * scorer.params.length, 0);
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(4, VERSION, true);
  view.setUint32(8, headerBytes.length, true);
  bytes.set(headerBytes, 12);
  bytes.set(new Uint8Array(rows.buffer, rows.byteOffset, rows.length), rowsStart);
  let offset = paramsStart;
  for (const scorer of artifact.scorers) {
    if (scorer.params.length !== liteLayout(scorer.shape).size) throw new Error(`scorer ${scorer.name}: parameter count does not match its shape`);
    for (const value of scorer.params) {
      view.setFloat32(offset, value, true);
      offset += 4;
    }
  }
  return bytes;
}

export function decodeLiteArtifact(bytes: Uint8Array): LiteArtifact {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 4)) !== MAGIC) throw new Error("not a LITE artifact (bad magic)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== VERSION) throw new Error(`LITE artifact version ${version}; this build reads ${VERSION}`);
  const headerLength = view.getUint32(8, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Header;
  const rowsStart = 12 + headerLength;
  const rowCount = "words" in header.encoder ? header.encoder.words.length * header.encoder.dimensions : 0;
  // A copy of exactly the rows (a Node Buffer's slice would share, and expose, its whole pool).
  const rows = new Int8Array(bytes.buffer.slice(bytes.byteOffset + rowsStart, bytes.byteOffset + rowsStart + rowCount));
  let offset = align4(rowsStart + rows.length);
  const scorers = header.scorers.map((entry) => {
    const params = new Float64Array(liteLayout(entry.shape).size);
    if (offset + 4 * params.length > bytes.length) throw new Error(`LITE artifact truncated in scorer ${entry.name}`);
    for (let i = 0; i < params.length; i++, offset += 4) params[i] = view.getFloat32(offset, true);
    return { ...entry, params };
  });
  if (offset !== bytes.length) throw new Error(`LITE artifact has ${bytes.length - offset} trailing bytes`);
  const encoder: LiteEncoderEntry = "words" in header.encoder
    ? { name: header.encoder.name, vectors: new WordVectors(header.encoder.words, header.encoder.dimensions, rows) }
    : { name: header.encoder.name, transformer: header.encoder.transformer };
  return { encoder, scorers };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
