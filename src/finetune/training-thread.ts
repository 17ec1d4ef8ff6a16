/**
 * A fine-tuning run on a thread of its own, so a gateway that trains in-process keeps
 * answering requests while each optimizer step computes. The thread reads the base weights
 * from their GGUF, trains, and after every step sends its progress and waits for the word
 * to go on or stop: a cancel therefore lands before the next step starts.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { TokenizedExample } from "../../kernels/finetune/encode.ts";
import { finetune, TrainingCancelled, type FinetuneOptions, type FinetuneResult, type Progress } from "../../kernels/finetune/trainer.ts";
import { initBackend } from "../../kernels/tfjs/backend.ts";
import { readLlamaModel } from "../../kernels/transformer/gguf-model.ts";

export interface TrainingInput {
  modelPath: string;
  train: TokenizedExample[];
  validation?: TokenizedExample[];
  options: FinetuneOptions;
  name: string;
}

export type FromThread =
  | { type: "progress"; progress: Progress }
  | { type: "done"; result: FinetuneResult }
  | { type: "cancelled" }
  | { type: "error"; message: string; code?: string };

export type ToThread = { type: "continue" } | { type: "cancel" };

if (parentPort !== null && workerData !== undefined) {
  const port = parentPort;
  const input = workerData as TrainingInput;
  const replies: ((message: ToThread) => void)[] = [];
  port.on("message", (message: ToThread) => replies.shift()?.(message));
  const cancel = new AbortController();
  const post = (message: FromThread): void => port.postMessage(message);
  try {
    await initBackend();
    const model = readLlamaModel(input.modelPath);
    const result = await finetune(model.config, model.weights, input.train, input.validation, input.options, input.name, {
      signal: cancel.signal,
      onProgress: async (progress) => {
        const reply = new Promise<ToThread>((resolve) => replies.push(resolve));
        post({ type: "progress", progress });
        if ((await reply).type === "cancel") cancel.abort();
      },
    });
    post({ type: "done", result });
  } catch (error) {
    if (error instanceof TrainingCancelled) post({ type: "cancelled" });
    else post({ type: "error", message: error instanceof Error ? error.message : String(error), code: (error as { code?: string }).code });
  }
  port.close();
}
