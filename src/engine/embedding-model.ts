import type { Llama, LlamaEmbeddingContext, LlamaModel } from "node-llama-cpp";
import { loadSingleContextModel, type SingleContextOptions } from "./single-context-model.ts";
import { longestTokenChars } from "./vocabulary.ts";

/**
 * A GGUF served for embeddings (node-llama-cpp's embedding context): one pooled vector per
 * input, as the model's pooling type defines it. Inputs are embedded one at a time on the
 * model's one context.
 */
export class EmbeddingModel {
  readonly kind = "embedding" as const;
  readonly created = Math.floor(Date.now() / 1000);
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly id: string,
    private readonly model: LlamaModel,
    private readonly context: LlamaEmbeddingContext,
    readonly contextSize: number,
  ) {}

  static async load(llama: Llama, options: SingleContextOptions): Promise<EmbeddingModel> {
    const { model, context, contextSize } = await loadSingleContextModel(llama, options, (loaded, settings) => loaded.createEmbeddingContext(settings));
    return new EmbeddingModel(options.id, model, context, contextSize);
  }


  tokenize(text: string): number[] {
    return this.model.tokenize(text, false);
  }

  /** The most characters an input can have and still fit the context (see longestTokenChars). */
  get maxInputChars(): number {
    return this.contextSize * longestTokenChars(this.model);
  }

  get vocabularySize(): number {
    return this.model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
  }

  /** One vector per input (token ids), in order. */
  embed(inputs: readonly (readonly number[])[]): Promise<number[][]> {
    const run = this.queue.then(async () => {
      const vectors: number[][] = [];
      for (const tokens of inputs) vectors.push([...(await this.context.getEmbeddingFor(tokens as Parameters<LlamaEmbeddingContext["getEmbeddingFor"]>[0] & unknown[])).vector]);
      return vectors;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }
}
