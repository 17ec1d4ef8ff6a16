/**
 * The job queue on Redis, through BullMQ (the one module that imports it). A worker holds a
 * lock on its job and renews it while training yields between steps; a worker that dies
 * stops renewing, so another worker's stalled check puts the job back in the queue (it
 * starts again from step 0) once, and fails it the second time: `onGivenUp` records that on
 * the job, so no job is left `running` without a worker.
 */
import { Queue, Worker } from "bullmq";
import type { JobQueue, RunJob } from "./queue.ts";

const queueName = "fine-tuning";

export interface BullQueueOptions {
  /** How long a silent worker keeps its job (FINETUNE_LOCK_MS); stalled checks run this often too. */
  lockMs: number;
  onGivenUp(jobId: string, reason: string): Promise<void>;
}

/** How long close() waits for BullMQ's connections (a frozen Redis must not hold up shutdown). */
const closeWaitMs = 3_000;

export class BullQueue implements JobQueue {
  /** Opened on the first job: a gateway that never creates one holds no queue connection. */
  private queue: Queue | undefined;
  private worker: Worker | undefined;
  private readonly stop = new AbortController();

  constructor(
    private readonly url: string,
    private readonly options: BullQueueOptions,
  ) {}

  async enqueue(jobId: string): Promise<void> {
    this.queue ??= new Queue(queueName, { connection: this.connection(), prefix: "gateway-bull" });
    await this.queue.add("train", { jobId }, { jobId, attempts: 1, removeOnComplete: 1000, removeOnFail: 1000 });
  }

  work(concurrency: number, run: RunJob): void {
    this.worker = new Worker(queueName, async (job) => run((job.data as { jobId: string }).jobId, this.stop.signal), {
      connection: this.connection(),
      prefix: "gateway-bull",
      concurrency,
      lockDuration: this.options.lockMs,
      stalledInterval: this.options.lockMs,
      maxStalledCount: 1,
    });
    this.worker.on("failed", (job, error) => {
      if (job !== undefined) void this.options.onGivenUp((job.data as { jobId: string }).jobId, error.message).catch(() => undefined);
    });
    // BullMQ reconnects by itself; without a listener a Redis outage would print unhandled error events.
    this.worker.on("error", () => undefined);
  }

  async close(): Promise<void> {
    this.stop.abort();
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, closeWaitMs)));
    await Promise.race([Promise.all([this.worker?.close(), this.queue?.close()]), waited]);
    clearTimeout(timer);
  }

  private connection(): { url: string; maxRetriesPerRequest: null } {
    // BullMQ's blocking commands need ioredis to retry without limit.
    return { url: this.url, maxRetriesPerRequest: null };
  }
}
