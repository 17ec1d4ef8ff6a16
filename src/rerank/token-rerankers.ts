import type { LiteScorerEntry } from "../../kernels/lite/artifact.ts";
import { LiteScorer } from "../../kernels/lite/scorer.ts";
import { packTokens, unpackTokens } from "../../kernels/lite/stored-tokens.ts";
import { POOLED_READ, type TokenEncoder } from "../../kernels/lite/token-encoder.ts";
import { dot, maxSim, pooledVector, similarityMatrix, type TokenMatrix } from "../../kernels/lite/token-matrix.ts";
import type { DocumentTokenCache } from "./document-token-cache.ts";
import type { RerankMethod, Reranker } from "./reranker.ts";
import { Slices } from "./slices.ts";

/** MaxSim's fixed lengths when no LITE scorer sets them: the LITE paper's query length, and documents as read. */
const MAXSIM_QUERY_TOKENS = 32;

/** What the rerankers over one token encoder share: the encoder (word vectors or a GGUF's hidden states). */
abstract class TokenReranker implements Reranker {
  abstract readonly method: RerankMethod;
  readonly created = Math.floor(Date.now() / 1000);

  constructor(readonly id: string, protected readonly encoder: TokenEncoder) {}

  async countTokens(text: string): Promise<number> {
    return this.encoder.countTokens(text);
  }

  abstract score(query: string, documents: readonly string[], maxTokens: number, signal?: AbortSignal): Promise<number[]>;
}

/** The document-token cache a LITE reranker stores into, and the id of its encoder (part of every key). */
export interface StoredTokens {
  cache: DocumentTokenCache;
  encoderId: string;
}

/**
 * LITE: a trained scorer over the query-document similarity matrix (kernels/lite/scorer.ts).
 * Documents are scored from their stored form (kernels/lite/stored-tokens.ts), read from the
 * document-token cache when it holds them.
 */
export class LiteReranker extends TokenReranker {
  readonly method = "lite" as const;
  private readonly scorer: LiteScorer;

  constructor(id: string, encoder: TokenEncoder, private readonly entry: LiteScorerEntry, private readonly stored?: StoredTokens) {
    super(id, encoder);
    this.scorer = new LiteScorer(entry.shape, entry.params);
  }

  /** The document tokens this scorer reads (of the first maxTokens): the first documentLength, or a reduced form. */
  documentTokens(text: string, maxTokens: number): TokenMatrix {
    return this.encoder.encodeDocument(text, maxTokens, this.entry.shape.documentLength, this.entry.documentTokens);
  }

  async score(query: string, documents: readonly string[], maxTokens: number, signal?: AbortSignal): Promise<number[]> {
    const slices = new Slices(signal);
    const { queryLength, documentLength } = this.entry.shape;
    const q = this.encoder.encode(query, queryLength);
    const buffer = new Float64Array(queryLength * documentLength);
    const tokens = new Float32Array(documentLength * this.encoder.dimensions);
    const scores: number[] = [];
    for (const bytes of await this.storedDocuments(documents, maxTokens, slices)) {
      await slices.next();
      const d = unpackTokens(bytes, this.encoder.dimensions, tokens);
      scores.push(this.scorer.forward(similarityMatrix(q, d, queryLength, documentLength, buffer), q.length, d.length));
    }
    return scores;
  }

  /** Each document's stored form: from the cache where it holds it, encoded (and stored) otherwise. */
  private async storedDocuments(documents: readonly string[], maxTokens: number, slices: Slices): Promise<Uint8Array[]> {
    const encode = async (text: string): Promise<Uint8Array> => {
      await slices.next();
      return packTokens(this.documentTokens(text, maxTokens));
    };
    if (this.stored === undefined || !this.stored.cache.enabled) {
      const forms: Uint8Array[] = [];
      for (const text of documents) forms.push(await encode(text));
      return forms;
    }
    const { cache } = this.stored;
    const form = this.storedForm(maxTokens);
    const keys = documents.map((text) => cache.key(form, text));
    const found = await cache.lookup(this.id, keys);
    const encoded = new Map<string, Uint8Array>();
    for (let i = 0; i < documents.length; i++) {
      if (found[i] === null && !encoded.has(keys[i]!)) encoded.set(keys[i]!, await encode(documents[i]!));
    }
    await cache.save(this.id, encoded);
    return found.map((bytes, i) => bytes ?? encoded.get(keys[i]!)!);
  }

  /**
   * What the stored form depends on besides the text: the encoder, how the scorer reduces a
   * document to documentLength tokens, and the length limit where it changes what is read
   * (the tokens a form reads are the same under any limit at least that long).
   */
  private storedForm(maxTokens: number): string {
    const { documentTokens, shape } = this.entry;
    const read = { first: shape.documentLength, pooled: POOLED_READ * shape.documentLength }[documentTokens];
    const limit = Math.min(maxTokens, read);
    return `${this.stored!.encoderId}:${documentTokens}-${shape.documentLength}:${limit}:f16`;
  }
}

/** ColBERT's MaxSim over the same encoder, reading documents up to the token limit. */
export class MaxSimReranker extends TokenReranker {
  readonly method = "maxsim" as const;

  async score(query: string, documents: readonly string[], maxTokens: number, signal?: AbortSignal): Promise<number[]> {
    const slices = new Slices(signal);
    const q = this.encoder.encode(query, MAXSIM_QUERY_TOKENS);
    const scores: number[] = [];
    for (const text of documents) {
      await slices.next();
      const d = this.encoder.encode(text, maxTokens);
      const s = similarityMatrix(q, d, q.length, d.length, new Float64Array(q.length * d.length));
      scores.push(maxSim(s, q.length, d.length, d.length));
    }
    return scores;
  }
}

/** The dual encoder: cosine of mean-pooled token vectors. */
export class DualEncoderReranker extends TokenReranker {
  readonly method = "dual-encoder" as const;

  async score(query: string, documents: readonly string[], maxTokens: number, signal?: AbortSignal): Promise<number[]> {
    const slices = new Slices(signal);
    const q = pooledVector(this.encoder.encode(query, Infinity));
    const scores: number[] = [];
    for (const text of documents) {
      await slices.next();
      scores.push(dot(q, pooledVector(this.encoder.encode(text, maxTokens))));
    }
    return scores;
  }
}
