import { existsSync, readFileSync } from "node:fs";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";
import type { Logger } from "pino";
import type { ModelSpec } from "../config/config.ts";
import { ServedModel } from "./served-model.ts";

export interface EngineOptions {
  models: readonly ModelSpec[];
  draftModelPath: string;
  gpu: "auto" | false | "cuda" | "vulkan" | "metal";
  threads: number;
  contextSize: number;
  sequences: number;
  batchSize: number;
  chatTemplatePath: string | undefined;
}

/** Owns node-llama-cpp: the runtime, every served model with its context and sequences, and the draft model. */
export class Engine {
  private constructor(
    private readonly llama: Llama,
    readonly models: ReadonlyMap<string, ServedModel>,
    /** Loaded for speculative decoding; not served under its own id. */
    readonly draft: LlamaModel | undefined,
  ) {}

  static async load(options: EngineOptions, logger: Logger): Promise<Engine> {
    const llama = await getLlama({ gpu: options.gpu, logLevel: LlamaLogLevel.error });
    const models = new Map<string, ServedModel>();
    const chatTemplate = options.chatTemplatePath === undefined ? undefined : readFileSync(options.chatTemplatePath, "utf8");
    for (const spec of options.models) {
      const served = await ServedModel.load(llama, { ...spec, ...options, chatTemplate });
      models.set(spec.id, served);
      logger.info({ model: spec.id, path: spec.path, contextSize: served.contextSize, sequences: served.pool.size }, "model loaded");
    }
    let draft: LlamaModel | undefined;
    if (options.draftModelPath !== "" && existsSync(options.draftModelPath)) {
      draft = await llama.loadModel({ modelPath: options.draftModelPath });
      logger.info({ path: options.draftModelPath }, "draft model loaded");
    } else if (options.draftModelPath !== "") {
      logger.warn({ path: options.draftModelPath }, "draft model not found; speculative decoding unavailable");
    }
    return new Engine(llama, models, draft);
  }

  get(id: string): ServedModel | undefined {
    return this.models.get(id);
  }

  activeSequences(): number {
    let total = 0;
    for (const model of this.models.values()) total += model.pool.active;
    return total;
  }

  async dispose(): Promise<void> {
    for (const model of this.models.values()) await model.dispose();
    await this.draft?.dispose();
    await this.llama.dispose();
  }
}
