import { existsSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";
import type { Logger } from "pino";
import type { Config, ModelKind } from "../config/config.ts";
import { EmbeddingModel } from "./embedding-model.ts";
import { RankingModel } from "./ranking-model.ts";
import { ServedModel } from "./served-model.ts";
import { Speculation } from "./speculation.ts";

/** The part of the configuration the engine reads. */
export type EngineOptions = Pick<Config, "models" | "draftModelPath" | "gpu" | "threads" | "contextSize" | "sequences" | "contexts" | "batchSize" | "chatTemplatePath" | "speculation">;

/** A served model as /v1/models lists it. */
export interface ModelEntry {
  id: string;
  kind: ModelKind;
  created: number;
}

/**
 * Owns node-llama-cpp: the runtime, every served model by kind (generative models with their
 * contexts and sequences, embedding models), and the draft model.
 */
export class Engine {
  private constructor(
    private readonly llama: Llama,
    /** Generative models: completions and chat. */
    readonly models: ReadonlyMap<string, ServedModel>,
    readonly embeddings: ReadonlyMap<string, EmbeddingModel>,
    /** GGUF rerankers (RERANK_MODELS), served on /v1/rerank beside the rerankers that need no llama.cpp. */
    readonly rankings: ReadonlyMap<string, RankingModel>,
    /** Loaded for speculative decoding; not served under its own id. */
    private readonly draft: LlamaModel | undefined,
  ) {}

  static async load(options: EngineOptions, logger: Logger): Promise<Engine> {
    const llama = await getLlama({ gpu: options.gpu, logLevel: LlamaLogLevel.error });
    const contexts = options.contexts > 0 ? options.contexts : automaticContexts(llama, options.threads);
    const models = new Map<string, ServedModel>();
    const embeddings = new Map<string, EmbeddingModel>();
    const rankings = new Map<string, RankingModel>();
    const chatTemplate = options.chatTemplatePath === undefined ? undefined : readFileSync(options.chatTemplatePath, "utf8");
    for (const spec of options.models) {
      if (spec.kind === "embedding") {
        const embedding = await EmbeddingModel.load(llama, { ...spec, threads: options.threads, contextSize: options.contextSize, batchSize: options.batchSize });
        embeddings.set(spec.id, embedding);
        logger.info({ model: spec.id, kind: spec.kind, path: spec.path, contextSize: embedding.contextSize }, "model loaded");
        continue;
      }
      if (spec.kind === "ranking") {
        const ranking = await RankingModel.load(llama, { ...spec, threads: options.threads, contextSize: options.contextSize, batchSize: options.batchSize });
        rankings.set(spec.id, ranking);
        logger.info({ model: spec.id, kind: spec.kind, path: spec.path, contextSize: ranking.contextSize }, "model loaded");
        continue;
      }
      const served = await ServedModel.load(llama, { ...spec, ...options, contexts, chatTemplate });
      models.set(spec.id, served);
      logger.info({ model: spec.id, kind: spec.kind, path: spec.path, contextSize: served.contextSize, sequences: served.pool.size, contexts: served.pool.contexts.length }, "model loaded");
    }
    let draft: LlamaModel | undefined;
    if (options.draftModelPath !== "" && existsSync(options.draftModelPath)) {
      draft = await llama.loadModel({ modelPath: options.draftModelPath });
      logger.info({ path: options.draftModelPath }, "draft model loaded");
      if (options.speculation.enabled) await pairModelsWithDraft(models, draft, options, logger);
    } else if (options.draftModelPath !== "") {
      logger.warn({ path: options.draftModelPath }, "draft model not found; speculative decoding unavailable");
    }
    return new Engine(llama, models, embeddings, rankings, draft);
  }

  get(id: string): ServedModel | undefined {
    return this.models.get(id);
  }

  /** Every generative and embedding model with its kind, generative first (rerankers are listed with the gateway's rerankers). */
  entries(): ModelEntry[] {
    return [
      ...[...this.models.values()].map((model) => ({ id: model.id, kind: "generative" as const, created: model.created })),
      ...[...this.embeddings.values()].map((model) => ({ id: model.id, kind: model.kind, created: model.created })),
    ];
  }

  activeSequences(): number {
    let total = 0;
    for (const model of this.models.values()) total += model.pool.active;
    return total;
  }

  activeDraftSequences(): number {
    let total = 0;
    for (const model of this.models.values()) total += model.speculation?.draftPool.active ?? 0;
    return total;
  }

  async dispose(): Promise<void> {
    for (const model of this.models.values()) await model.dispose();
    for (const model of this.embeddings.values()) await model.dispose();
    for (const model of this.rankings.values()) await model.dispose();
    await this.draft?.dispose();
    await this.llama.dispose();
  }
}

/** Speculative decoding for every served model whose vocabulary is the draft's (the draft proposes token ids). */
async function pairModelsWithDraft(models: ReadonlyMap<string, ServedModel>, draft: LlamaModel, options: EngineOptions, logger: Logger): Promise<void> {
  const draftTokens = draft.fileInfo.metadata.tokenizer?.ggml?.tokens;
  for (const model of models.values()) {
    const tokens = model.model.fileInfo.metadata.tokenizer?.ggml?.tokens;
    if (draftTokens === undefined || tokens === undefined || !sameTokens(tokens, draftTokens)) {
      logger.warn({ model: model.id }, "the draft model's vocabulary differs; no speculative decoding for this model");
      continue;
    }
    const speculation = await Speculation.create(model, draft, { ...options.speculation, threads: options.threads, batchSize: options.batchSize });
    model.pairWithDraft(speculation);
    const plan = (temperatureZero: boolean) => speculation.tuner.plan(temperatureZero).choice;
    logger.info({ model: model.id, costs: speculation.profile, sampled: plan(false), greedy: plan(true) }, "speculative decoding ready");
  }
}

function sameTokens(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((token, i) => token === b[i]);
}

/**
 * On CPU, small models decode fastest on one thread and a batch of single-token steps costs
 * about as much as the steps one by one, so concurrency pays through contexts that decode in
 * parallel: one per THREADS cores. A GPU wants everything in one batch: one context.
 */
function automaticContexts(llama: Llama, threads: number): number {
  if (llama.gpu !== false) return 1;
  return Math.max(1, Math.floor(availableParallelism() / threads));
}
