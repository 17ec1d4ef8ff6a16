/** The tokenizer as GGUF stores it for llama.cpp's GPT-2-style byte-level BPE. */
import { gguf, type GgufValue } from "../gguf/types.ts";

/** llama_token_type values. */
export const TOKEN_TYPE = { normal: 1, control: 3 } as const;

export interface TokenizerSpec {
  /** Token texts in GPT-2's byte-to-unicode alphabet. */
  tokens: string[];
  tokenTypes: number[];
  /** "left right" pairs, highest priority first. */
  merges: string[];
  eosId: number;
  bosId: number;
  chatTemplate?: string;
}

export function tokenizerMetadata(spec: TokenizerSpec): Record<string, GgufValue> {
  if (spec.merges.length === 0) throw new Error("a gpt2 tokenizer needs at least one merge (llama.cpp refuses an empty merges list)");
  const metadata: Record<string, GgufValue> = {
    "tokenizer.ggml.model": gguf.string("gpt2"),
    "tokenizer.ggml.pre": gguf.string("smollm"),
    "tokenizer.ggml.tokens": gguf.strings(spec.tokens),
    "tokenizer.ggml.token_type": gguf.i32s(spec.tokenTypes),
    "tokenizer.ggml.merges": gguf.strings(spec.merges),
    "tokenizer.ggml.bos_token_id": gguf.u32(spec.bosId),
    "tokenizer.ggml.eos_token_id": gguf.u32(spec.eosId),
    "tokenizer.ggml.add_bos_token": gguf.bool(false),
    "tokenizer.ggml.add_eos_token": gguf.bool(false),
  };
  if (spec.chatTemplate) metadata["tokenizer.chat_template"] = gguf.string(spec.chatTemplate);
  return metadata;
}

/** Bytes each token decodes to: one per symbol of the byte alphabet, none for control tokens. */
export function tokenByteLengths(spec: TokenizerSpec): number[] {
  return spec.tokens.map((token, i) => (spec.tokenTypes[i] === TOKEN_TYPE.control ? 0 : [...token].length));
}
