import type { Llama, LlamaModel, LlamaRankingContext, Token } from "node-llama-cpp";
import { loadSingleContextModel, type SingleContextOptions } from "./single-context-model.ts";

/**
 * A GGUF reranker (a cross-encoder such as bge-reranker or Qwen3-Reranker) served through
 * node-llama-cpp's ranking context: one evaluation of query and document together per document,
 * scored in [0, 1]. A pair longer than the context is scored by its best chunk.
 */
export class RankingModel {
  readonly kind = "ranking" as const;
  readonly method = "gguf" as const;
  readonly created = Math.floor(Date.now() / 1000);

  private constructor(
    readonly id: string,
    private readonly model: LlamaModel,
    private readonly context: LlamaRankingContext,
    readonly contextSize: number,
  ) {}

  static async load(llama: Llama, options: SingleContextOptions): Promise<RankingModel> {
    const { model, context, contextSize } = await loadSingleContextModel(llama, options, (loaded, settings) => loaded.createRankingContext(settings));
    return new RankingModel(options.id, model, context, contextSize);
  }


  async countTokens(text: string): Promise<number> {
    return this.model.tokenize(text, false).length;
  }

  async score(query: string, documents: readonly string[], maxTokens: number): Promise<number[]> {
    const tokens = (text: string): Token[] => this.model.tokenize(text, false).slice(0, maxTokens);
    return this.context.rankAll(tokens(query), documents.map(tokens), { onOverflow: "maxChunk" });
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }
}
