/**
 * The exact bytes a token stands for, which its detokenized text cannot always show: a token
 * holding part of a multi-byte character detokenizes alone to U+FFFD. Read from the GGUF's
 * vocabulary, per token on demand (nothing is built per vocabulary):
 * - "gpt2" (byte-level BPE): each character of the token text is one byte, through GPT-2's
 *   byte-to-unicode table;
 * - "llama" (SentencePiece): "<0xAB>" is the byte 0xAB, "▁" a space, the rest UTF-8;
 * - control tokens: no bytes (they detokenize to nothing);
 * - any other tokenizer: the UTF-8 of the detokenized text.
 */
const CONTROL = 3;

export interface VocabularyView {
  readonly model: string | undefined;
  readonly tokens: readonly string[] | undefined;
  readonly types: readonly number[] | undefined;
  detokenize(token: number): string;
}

export class TokenBytes {
  private readonly cache = new Map<number, Uint8Array>();

  constructor(private readonly vocabulary: VocabularyView) {}

  of(token: number): Uint8Array {
    let bytes = this.cache.get(token);
    if (bytes === undefined) {
      bytes = this.compute(token);
      if (this.cache.size > 65_536) this.cache.clear();
      this.cache.set(token, bytes);
    }
    return bytes;
  }

  private compute(token: number): Uint8Array {
    const { model, tokens, types } = this.vocabulary;
    const text = tokens?.[token];
    if (text === undefined) return Buffer.from(this.vocabulary.detokenize(token), "utf8");
    if (types?.[token] === CONTROL) return new Uint8Array(0);
    if (model === "gpt2") {
      const bytes = [...text].map((char) => byteDecoder().get(char));
      if (bytes.every((byte) => byte !== undefined)) return Uint8Array.from(bytes as number[]);
    }
    if (model === "llama") {
      const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      if (byte !== null) return Uint8Array.of(Number.parseInt(byte[1]!, 16));
      return Buffer.from(text.replaceAll("\u2581", " "), "utf8");
    }
    return Buffer.from(this.vocabulary.detokenize(token), "utf8");
  }
}

let decoder: Map<string, number> | undefined;

/** GPT-2's byte-to-unicode table, inverted: printable bytes map to themselves, the rest to 256 + n. */
function byteDecoder(): Map<string, number> {
  if (decoder !== undefined) return decoder;
  decoder = new Map();
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || (byte >= 174 && byte <= 255);
    decoder.set(String.fromCodePoint(printable ? byte : 256 + extra++), byte);
  }
  return decoder;
}

/**
 * Where each token of a choice starts in the choice's text, in UTF-16 code units as JS strings
 * index it: a token continuing a character begun by an earlier one starts where that character
 * does. One per choice, fed its tokens in order (streamed chunks included).
 */
export class TextOffsets {
  private length: number;
  private pending: number[] = [];
  private readonly utf8 = new TextDecoder("utf-8", { fatal: false });

  constructor(start = 0) {
    this.length = start;
  }

  /** The offset of a token with these bytes, then counts them in. */
  push(bytes: Uint8Array): number {
    const offset = this.length;
    this.pending.push(...bytes);
    const complete = completePrefix(this.pending);
    if (complete > 0) {
      this.length += this.utf8.decode(Uint8Array.from(this.pending.slice(0, complete))).length;
      this.pending = this.pending.slice(complete);
    }
    return offset;
  }
}

/** How many leading bytes form complete UTF-8 characters (a broken sequence counts as complete: it decodes to U+FFFD). */
function completePrefix(bytes: readonly number[]): number {
  const end = bytes.length;
  for (let back = 1; back <= Math.min(4, end); back++) {
    const byte = bytes[end - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return back < need ? end - back : end; // an unfinished last character waits for its next bytes
  }
  return end;
}
