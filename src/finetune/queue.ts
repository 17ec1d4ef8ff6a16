/**
 * Where fine-tuning jobs wait for a worker: BullMQ on the store's Redis (bullmq-queue.ts)
 * when REDIS_URL is set, so any worker process or gateway picks them up; this in-process
 * queue otherwise, so a lone `npm start` can fine-tune.
 */
export type RunJob = (jobId: string, signal: AbortSignal) => Promise<void>;

export interface JobQueue {
  enqueue(jobId: string): Promise<void>;
  /** Runs up to `concurrency` jobs at a time in this process. */
  work(concurrency: number, run: RunJob): void;
  /** Stops taking jobs; running ones are aborted (their runner records why) and awaited. */
  close(): Promise<void>;
}

export class InProcessQueue implements JobQueue {
  private readonly waiting: string[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly stop = new AbortController();
  private run: RunJob | undefined;
  private concurrency = 0;

  async enqueue(jobId: string): Promise<void> {
    this.waiting.push(jobId);
    this.pump();
  }

  work(concurrency: number, run: RunJob): void {
    this.run = run;
    this.concurrency = concurrency;
    this.pump();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await Promise.all(this.running);
  }

  private pump(): void {
    while (this.run !== undefined && !this.stop.signal.aborted && this.running.size < this.concurrency && this.waiting.length > 0) {
      const jobId = this.waiting.shift()!;
      const done: Promise<void> = this.run(jobId, this.stop.signal)
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(done);
          this.pump();
        });
      this.running.add(done);
    }
  }
}
