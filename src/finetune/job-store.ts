/**
 * Fine-tuning jobs on the shared store: the job as the API shows it, its events, its
 * tokenized data (so a worker needs no tokenizer), and a cancel flag the worker reads
 * between optimizer steps.
 */
import { randomBytes } from "node:crypto";
import type { TokenizedExample } from "../../kernels/finetune/encode.ts";
import type { FineTuningJob, JobCheckpoint, JobEvent, JobStatus } from "../protocol/fine-tuning.ts";
import type { Store } from "../store/store.ts";

const jobPrefix = "ftjobs:job:";
const dataPrefix = "ftjobs:data:";
const eventPrefix = "ftjobs:event:";
const eventCounterPrefix = "ftjobs:event-count:";
const cancelPrefix = "ftjobs:cancel:";
const checkpointsPrefix = "ftjobs:checkpoints:";

export const TERMINAL: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "cancelled"]);

export interface JobData {
  train: TokenizedExample[];
  /** Absent: the trainer holds out part of `train`. */
  validation?: TokenizedExample[];
}

export function newJobId(): string {
  return `ftjob-${randomBytes(12).toString("hex")}`;
}

export function newCheckpointId(): string {
  return `ftckpt_${randomBytes(12).toString("hex")}`;
}

export class JobStore {
  constructor(private readonly store: Store) {}

  async get(id: string): Promise<FineTuningJob | undefined> {
    const text = await this.store.get(jobPrefix + id);
    return text === null ? undefined : (JSON.parse(text) as FineTuningJob);
  }

  put(job: FineTuningJob): Promise<void> {
    return this.store.set(jobPrefix + job.id, JSON.stringify(job));
  }

  /**
   * Changes a job unless it has ended (a late progress write never revives a cancelled or
   * failed job); returns the job as stored afterwards.
   */
  async update(id: string, change: (job: FineTuningJob) => Partial<FineTuningJob>): Promise<FineTuningJob | undefined> {
    const job = await this.get(id);
    if (job === undefined || TERMINAL.has(job.status)) return job;
    const next = { ...job, ...change(job) };
    await this.put(next);
    return next;
  }

  /** Newest first. */
  async list(): Promise<FineTuningJob[]> {
    const keys = await this.store.keys(jobPrefix);
    const jobs = await Promise.all(keys.map((key) => this.get(key.slice(jobPrefix.length))));
    return jobs.filter((job): job is FineTuningJob => job !== undefined).sort((a, b) => b.created_at - a.created_at || b.id.localeCompare(a.id));
  }

  putData(id: string, data: JobData): Promise<void> {
    return this.store.setBytes(dataPrefix + id, new TextEncoder().encode(JSON.stringify(data)));
  }

  async data(id: string): Promise<JobData | undefined> {
    const bytes = await this.store.getBytes(dataPrefix + id);
    return bytes === null ? undefined : (JSON.parse(new TextDecoder().decode(bytes)) as JobData);
  }

  /** Removes everything a job wrote (a job whose creation failed half way). */
  async remove(id: string): Promise<void> {
    await this.store.delete(jobPrefix + id);
    await this.store.delete(dataPrefix + id);
    for (const key of await this.store.keys(eventPrefix + id + ":")) await this.store.delete(key);
    await this.store.delete(eventCounterPrefix + id);
    await this.store.delete(checkpointsPrefix + id);
  }

  async addEvent(id: string, message: string, options: { level?: JobEvent["level"]; data?: Record<string, unknown> } = {}): Promise<void> {
    const sequence = await this.store.increment(eventCounterPrefix + id);
    const event: JobEvent = {
      id: `ftevent-${id.slice("ftjob-".length)}-${sequence}`,
      object: "fine_tuning.job.event",
      created_at: Math.floor(Date.now() / 1000),
      level: options.level ?? "info",
      message,
      type: options.data === undefined ? "message" : "metrics",
      data: options.data ?? null,
    };
    // Zero-padded so the store's sorted keys are in event order.
    await this.store.set(`${eventPrefix}${id}:${String(sequence).padStart(9, "0")}`, JSON.stringify(event));
  }

  /** Newest first, as OpenAI lists them. */
  async events(id: string): Promise<JobEvent[]> {
    const keys = await this.store.keys(eventPrefix + id + ":");
    const events = await Promise.all(keys.map((key) => this.store.get(key)));
    return events.flatMap((text) => (text === null ? [] : [JSON.parse(text) as JobEvent])).reverse();
  }

  putCheckpoints(id: string, checkpoints: readonly JobCheckpoint[]): Promise<void> {
    return this.store.set(checkpointsPrefix + id, JSON.stringify(checkpoints));
  }

  /** Newest (highest step) first, as OpenAI lists them. */
  async checkpoints(id: string): Promise<JobCheckpoint[]> {
    const text = await this.store.get(checkpointsPrefix + id);
    return text === null ? [] : (JSON.parse(text) as JobCheckpoint[]).sort((a, b) => b.step_number - a.step_number);
  }

  requestCancel(id: string): Promise<void> {
    return this.store.set(cancelPrefix + id, "1");
  }

  async cancelRequested(id: string): Promise<boolean> {
    return (await this.store.get(cancelPrefix + id)) !== null;
  }
}

/**
 * The model id a job's adapter is served under: `ft-{model}[-{suffix}]-{8 hex of the job}`,
 * and `...-step-{n}` for a checkpoint's, within the adapter registry's name rules (OpenAI's
 * `ft:model:org:suffix:id` has colons, which adapter names, file names in the cache, may not).
 */
export function fineTunedModelName(job: Pick<FineTuningJob, "id" | "model" | "user_provided_suffix">, checkpointStep?: number): string {
  const tag = job.id.slice("ftjob-".length, "ftjob-".length + 8);
  const suffix = job.user_provided_suffix ? `-${job.user_provided_suffix}` : "";
  const step = checkpointStep === undefined ? "" : `-step-${checkpointStep}`;
  const model = job.model.replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 64 - 3 - suffix.length - 1 - tag.length - step.length);
  return `ft-${model}${suffix}-${tag}${step}`;
}
