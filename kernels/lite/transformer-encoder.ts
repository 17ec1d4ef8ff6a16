import { createHash } from "node:crypto";
import { fileSha256 } from "../file-sha256.ts";
import { initBackend, tf } from "../tfjs/backend.ts";
import { loadVocabulary, type VocabularyTokenizer } from "../tokenizer/llama-tokenizer.ts";
import type { LlamaConfig } from "../transformer/config.ts";
import { forward } from "../transformer/forward.ts";
import { readLlamaModel } from "../transformer/gguf-model.ts";
import type { LlamaWeights } from "../transformer/weights.ts";
import { POOLED_READ, type DocumentTokens, type TokenEncoder } from "./token-encoder.ts";
import { poolTokens, type TokenMatrix } from "./token-matrix.ts";

/** What a LITE artifact records of a transformer encoder. */
export interface TransformerSpec {
  /** The llama-architecture GGUF (a path from the working directory) and its sha256. */
  gguf: string;
  sha256: string;
  /** Token vectors are the residual stream after this many blocks. */
  layer: number;
  /** The mean hidden state (over training passages), subtracted before normalising. */
  center: number[];
}

export interface TransformerModel {
  config: LlamaConfig;
  weights: LlamaWeights;
}

/**
 * A token encoder from per-token hidden states of a llama-architecture GGUF, run through our
 * tfjs transformer (kernels/transformer/forward.ts) up to `layer` blocks, tokenised by the
 * GGUF's own vocabulary (llama.cpp's tokenizer). A causal model's hidden states share a large
 * common component (every cosine is high), so the training passages' mean is subtracted before
 * each vector is normalised.
 */
export class TransformerEncoder implements TokenEncoder {
  readonly dimensions: number;
  readonly id: string;
  private readonly center: Float32Array;
  private readonly memo = new Map<string, TokenMatrix>();

  /** memoEntries > 0 keeps that many encoded texts (training and the bench read each passage many times). */
  constructor(private readonly model: TransformerModel, private readonly tokenizer: VocabularyTokenizer, readonly spec: TransformerSpec, private readonly memoEntries = 0) {
    if (spec.layer < 1 || spec.layer > model.config.layers) throw new Error(`transformer encoder: layer ${spec.layer} outside 1..${model.config.layers}`);
    if (spec.center.length !== model.config.dim) throw new Error(`transformer encoder: center has ${spec.center.length} values for dimension ${model.config.dim}`);
    this.dimensions = model.config.dim;
    this.center = Float32Array.from(spec.center);
    this.id = createHash("sha256").update(JSON.stringify(["transformer", spec.sha256, spec.layer, spec.center])).digest("hex").slice(0, 16);
  }

  tokens(text: string): number[] {
    return this.tokenizer.tokenize(text);
  }

  countTokens(text: string): number {
    return this.tokens(text).length;
  }

  /** The raw residual stream after each of the first `layers` blocks, [ids.length x dim] each. */
  states(ids: readonly number[], layers: number): Float32Array[] {
    if (ids.length === 0) return Array.from({ length: layers }, () => new Float32Array(0));
    const config = { ...this.model.config, layers };
    return tf.tidy(() => {
      const { hiddenStates } = forward(config, this.model.weights, tf.tensor2d(Int32Array.from(ids), [1, ids.length], "int32"), { hiddenStates: true });
      return hiddenStates!.map((state) => state.dataSync() as Float32Array);
    });
  }

  /** Centred, normalised token vectors of one layer's raw states. */
  static normalise(raw: Float32Array, dimensions: number, center: Float32Array): TokenMatrix {
    const length = raw.length / dimensions;
    const data = new Float32Array(raw.length);
    for (let i = 0; i < length; i++) {
      let norm = 0;
      for (let t = 0; t < dimensions; t++) norm += (data[i * dimensions + t] = raw[i * dimensions + t]! - center[t]!) ** 2;
      const scale = norm === 0 ? 0 : 1 / Math.sqrt(norm);
      for (let t = 0; t < dimensions; t++) data[i * dimensions + t]! *= scale;
    }
    return { length, dimensions, data };
  }

  encode(text: string, maxTokens: number): TokenMatrix {
    const count = Math.min(maxTokens, this.model.config.contextLength);
    const key = `${count}:${text}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known;
    const ids = this.tokens(text).slice(0, count);
    const matrix = TransformerEncoder.normalise(this.states(ids, this.spec.layer)[this.spec.layer - 1]!, this.dimensions, this.center);
    if (this.memo.size < this.memoEntries) this.memo.set(key, matrix);
    return matrix;
  }

  /** Keeps a matrix computed elsewhere (the layer choice encodes the validation split at every candidate layer). */
  remember(text: string, maxTokens: number, matrix: TokenMatrix): void {
    if (this.memo.size < this.memoEntries) this.memo.set(`${Math.min(maxTokens, this.model.config.contextLength)}:${text}`, matrix);
  }

  encodeDocument(text: string, maxTokens: number, length: number, mode: DocumentTokens): TokenMatrix {
    if (mode === "pooled") return poolTokens(this.encode(text, Math.min(maxTokens, POOLED_READ * length)), length);
    return this.encode(text, Math.min(maxTokens, length));
  }
}

/** Loads the GGUF a spec names (refusing one whose sha256 differs: the scorers were trained on its vectors). */
export async function loadTransformerEncoder(spec: TransformerSpec, memoEntries = 0): Promise<TransformerEncoder> {
  const actual = fileSha256(spec.gguf);
  if (actual !== spec.sha256) throw new Error(`transformer encoder: ${spec.gguf} has sha256 ${actual}, the artifact was trained on ${spec.sha256}`);
  await initBackend();
  const model = readLlamaModel(spec.gguf);
  return new TransformerEncoder(model, await loadVocabulary(spec.gguf), spec, memoEntries);
}
