import type { Llama, LlamaModel } from "node-llama-cpp";

/** What a model served with one context of its own (embedding, ranking) is loaded from. */
export interface SingleContextOptions {
  id: string;
  path: string;
  threads: number;
  /** 0: the model's training context, at most 4096 tokens. */
  contextSize: number;
  batchSize: number;
}

export interface ContextSettings {
  contextSize: number;
  threads: number;
  batchSize: number;
}

/** Loads a model and makes its one context; the model is released if the context cannot be made. */
export async function loadSingleContextModel<Context>(llama: Llama, options: SingleContextOptions, create: (model: LlamaModel, settings: ContextSettings) => Promise<Context>): Promise<{ model: LlamaModel; context: Context; contextSize: number }> {
  const model = await llama.loadModel({ modelPath: options.path });
  const contextSize = options.contextSize > 0 ? options.contextSize : Math.min(model.trainContextSize, 4096);
  try {
    const context = await create(model, { contextSize, threads: options.threads, batchSize: Math.min(options.batchSize, contextSize) });
    return { model, context, contextSize };
  } catch (error) {
    await model.dispose();
    throw error;
  }
}
