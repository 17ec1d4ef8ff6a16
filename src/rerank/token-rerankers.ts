import type { LiteScorerEntry } from "../../kernels/lite/artifact.ts";
import { LiteScorer } from "../../kernels/lite/scorer.ts";
import { dot, maxSim, pooledVector, similarityMatrix, type TokenMatrix } from "../../kernels/lite/token-matrix.ts";
import { documentWords } from "../../kernels/lite/encode-examples.ts";
import type { WordVectors } from "../../kernels/lite/word-vectors.ts";
import { cutWords, words } from "../../kernels/lite/words.ts";
import type { RerankMethod, Reranker } from "./reranker.ts";

/** MaxSim's fixed lengths when no LITE scorer sets them: the LITE paper's query length, and documents as read. */
const MAXSIM_QUERY_TOKENS = 32;

/** What the rerankers over one token encoder share: word splitting and the encoder. */
abstract class TokenReranker implements Reranker {
  abstract readonly method: RerankMethod;
  readonly created = Math.floor(Date.now() / 1000);

  constructor(readonly id: string, protected readonly encoder: WordVectors) {}

  async countTokens(text: string): Promise<number> {
    return words(text).length;
  }

  abstract score(query: string, documents: readonly string[], maxTokens: number): Promise<number[]>;
}

/** LITE: a trained scorer over the query-document similarity matrix (kernels/lite/scorer.ts). */
export class LiteReranker extends TokenReranker {
  readonly method = "lite" as const;
  private readonly scorer: LiteScorer;

  constructor(id: string, encoder: WordVectors, private readonly entry: LiteScorerEntry) {
    super(id, encoder);
    this.scorer = new LiteScorer(entry.shape, entry.params);
  }

  /** The document tokens this scorer reads (of the first maxTokens): the first documentLength, or the reduced salient form. */
  documentTokens(text: string, maxTokens: number): TokenMatrix {
    return this.encoder.encodeWords(documentWords(cutWords(text, maxTokens), this.entry.shape, this.entry.documentTokens, this.encoder));
  }

  async score(query: string, documents: readonly string[], maxTokens: number): Promise<number[]> {
    const { queryLength, documentLength } = this.entry.shape;
    const q = this.encoder.encodeWords(words(query).slice(0, queryLength));
    const buffer = new Float64Array(queryLength * documentLength);
    return documents.map((text) => {
      const d = this.documentTokens(text, maxTokens);
      return this.scorer.forward(similarityMatrix(q, d, queryLength, documentLength, buffer), q.length, d.length);
    });
  }
}

/** ColBERT's MaxSim over the same encoder, reading documents up to the token limit. */
export class MaxSimReranker extends TokenReranker {
  readonly method = "maxsim" as const;

  async score(query: string, documents: readonly string[], maxTokens: number): Promise<number[]> {
    const q = this.encoder.encodeWords(words(query).slice(0, MAXSIM_QUERY_TOKENS));
    return documents.map((text) => {
      const d = this.encoder.encodeWords(words(text).slice(0, maxTokens));
      const s = similarityMatrix(q, d, q.length, d.length, new Float64Array(q.length * d.length));
      return maxSim(s, q.length, d.length, d.length);
    });
  }
}

/** The dual encoder: cosine of mean-pooled token vectors. */
export class DualEncoderReranker extends TokenReranker {
  readonly method = "dual-encoder" as const;

  async score(query: string, documents: readonly string[], maxTokens: number): Promise<number[]> {
    const q = pooledVector(this.encoder.encodeWords(words(query)));
    return documents.map((text) => dot(q, pooledVector(this.encoder.encodeWords(words(text).slice(0, maxTokens)))));
  }
}
