/**
 * Fine-tuning's parts, composed once per process: uploaded files and jobs on the shared
 * store, the queue (BullMQ on REDIS_URL, else in-process), and the runner its workers use.
 * The gateway and `npm run worker` both build it; only their WORKERS differ.
 */
import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import type { Store } from "../store/store.ts";
import { BullQueue } from "./bullmq-queue.ts";
import { FileStore } from "./file-store.ts";
import { JobStore } from "./job-store.ts";
import { InProcessQueue, type JobQueue } from "./queue.ts";
import { JobRunner } from "./runner.ts";

export class FineTuning {
  readonly files: FileStore;
  readonly jobs: JobStore;
  readonly queue: JobQueue;
  private readonly runner: JobRunner;

  constructor(config: Pick<Config, "redisUrl" | "finetuneLockMs" | "models">, store: Store, logger: Logger) {
    this.files = new FileStore(store);
    this.jobs = new JobStore(store);
    this.runner = new JobRunner(this.jobs, this.files, store, config.models, logger.child({ component: "fine-tuning" }));
    this.queue = config.redisUrl === undefined
      ? new InProcessQueue()
      : new BullQueue(config.redisUrl, {
          lockMs: config.finetuneLockMs,
          onGivenUp: (jobId, reason) => this.runner.fail(jobId, `its worker stopped and the retry did not finish either (${reason})`, "worker_lost"),
        });
  }

  /** Trains up to `workers` jobs at a time in this process (none for 0). */
  start(workers: number): void {
    if (workers > 0) this.queue.work(workers, (jobId, stop) => this.runner.run(jobId, stop));
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
