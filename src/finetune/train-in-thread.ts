/** Runs kernels/finetune on a worker thread (training-thread.ts); progress and cancel cross by message. */
import { Worker } from "node:worker_threads";
import { TrainingCancelled, type FinetuneResult, type Progress } from "../../kernels/finetune/trainer.ts";
import type { FromThread, ToThread, TrainingInput } from "./training-thread.ts";

export interface ThreadHooks {
  /** Called after every step; resolving true stops training before the next one. */
  onProgress(progress: Progress): Promise<boolean>;
}

export function trainInThread(input: TrainingInput, hooks: ThreadHooks): Promise<FinetuneResult> {
  // Worker threads do not inherit the main thread's module hooks, so a TypeScript entry needs
  // tsx registered inside the thread first: this two-line ES module bootstrap does that.
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  const entry = JSON.stringify(new URL("./training-thread.ts", import.meta.url).href);
  const bootstrap = `import { register } from ${tsx}; register(); await import(${entry});`;
  const thread = new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), { workerData: input });
  return new Promise<FinetuneResult>((resolve, reject) => {
    let settled = false;
    const settle = (finish: () => void): void => {
      if (settled) return;
      settled = true;
      finish();
      void thread.terminate();
    };
    const send = (message: ToThread): void => thread.postMessage(message);
    thread.on("message", (message: FromThread) => {
      switch (message.type) {
        case "progress":
          hooks.onProgress(message.progress).then(
            (stop) => send({ type: stop ? "cancel" : "continue" }),
            (error: unknown) => {
              send({ type: "cancel" });
              settle(() => reject(error));
            },
          );
          break;
        case "done":
          settle(() => resolve(message.result));
          break;
        case "cancelled":
          settle(() => reject(new TrainingCancelled()));
          break;
        case "error":
          settle(() => reject(Object.assign(new Error(message.message), message.code === undefined ? {} : { code: message.code })));
          break;
      }
    });
    thread.on("error", (error) => settle(() => reject(error)));
    thread.on("exit", (code) => settle(() => reject(new Error(`the training thread exited (code ${code}) before it finished`))));
  });
}
