/**
 * Runs one fine-tuning job wherever a worker picked it up (a worker process or a gateway):
 * the target's weights from its GGUF (no serving engine), the tokenized data from the store,
 * progress as job events, a cancel noticed between optimizer steps, and the adapter
 * published to the adapter registry, from which every replica serves it, with its results
 * file (per-step metrics as CSV) and its checkpoints. Every way out leaves the job succeeded,
 * failed (with the reason) or cancelled.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { resultsCsv } from "../../kernels/finetune/results.ts";
import { TrainingCancelled, type FinetuneResult, type Progress } from "../../kernels/finetune/trainer.ts";
import type { LoraAdapter } from "../../kernels/lora/types.ts";
import { encodeLoraAdapter } from "../../kernels/lora/write.ts";
import { AdapterRegistry, type AdapterRecord } from "../adapters/registry.ts";
import type { ModelSpec } from "../config/config.ts";
import type { JobCheckpoint } from "../protocol/fine-tuning.ts";
import type { Store } from "../store/store.ts";
import { StoreUnavailable } from "../store/store-unavailable.ts";
import { trainerOptions } from "./hyperparameters.ts";
import type { FileStore } from "./file-store.ts";
import { fineTunedModelName, newCheckpointId, type JobStore } from "./job-store.ts";
import { trainInThread } from "./train-in-thread.ts";

export class JobRunner {
  constructor(
    private readonly jobs: JobStore,
    private readonly files: FileStore,
    private readonly store: Store,
    private readonly served: readonly ModelSpec[],
    private readonly logger: Logger,
  ) {}

  async run(jobId: string, stop: AbortSignal): Promise<void> {
    const job = await this.jobs.get(jobId);
    if (job === undefined) return;
    const log = this.logger.child({ job: jobId });
    if (await this.jobs.cancelRequested(jobId)) {
      await this.jobs.update(jobId, () => ({ status: "cancelled", finished_at: now() }));
      return;
    }
    const restarted = job.status === "running";
    await this.jobs.update(jobId, () => ({ status: "running" }));
    await this.jobs.addEvent(jobId, restarted ? "The worker running this job stopped; training restarts from step 0" : "Fine-tuning job started", restarted ? { level: "warn" } : {});
    log.info({ restarted }, "fine-tuning started");
    let stopped = false;
    const onStop = (): void => void (stopped = true);
    stop.addEventListener("abort", onStop);
    try {
      const data = await this.jobs.data(jobId);
      if (data === undefined) throw new Error("the job's training data is missing from the store");
      const options = trainerOptions(job.hyperparameters, job.seed, data.train.length);
      const result = await trainInThread(
        { modelPath: this.modelPath(job.model), train: data.train, validation: data.validation, options, name: fineTunedModelName(job) },
        {
          onProgress: async (progress) => {
            await this.report(jobId, progress);
            return stopped || (await this.jobs.cancelRequested(jobId));
          },
        },
      );
      const name = fineTunedModelName(job);
      const registry = new AdapterRegistry(this.store);
      // The epoch ends' adapters are served too (as OpenAI's checkpoints are), under names of their own.
      const checkpoints: JobCheckpoint[] = [];
      for (const saved of result.epochCheckpoints.filter(({ step }) => step !== result.adapterStep)) {
        const model = fineTunedModelName(job, saved.step);
        await publish(registry, job.model, { ...saved.adapter, name: model });
        checkpoints.push(checkpoint(jobId, model, saved.step, result));
      }
      await publish(registry, job.model, { ...result.adapter, name });
      checkpoints.push(checkpoint(jobId, name, result.adapterStep, result));
      // Results and checkpoints first: a job listed as succeeded has both.
      const results = await this.files.create("step_metrics.csv", new TextEncoder().encode(resultsCsv(result.history)), { purpose: "fine-tune-results" });
      await this.jobs.putCheckpoints(jobId, checkpoints);
      await this.jobs.update(jobId, () => ({ status: "succeeded", fine_tuned_model: name, finished_at: now(), trained_tokens: result.trainTokens, estimated_finish: null, result_files: [results.id] }));
      const summary = result.bestValidationLoss === undefined ? "" : `; validation loss ${result.baseValidationLoss!.toFixed(4)} -> ${result.bestValidationLoss.toFixed(4)}`;
      await this.jobs.addEvent(jobId, `The job has successfully completed after ${result.steps} steps${result.stoppedEarly ? " (stopped early: validation loss stopped improving)" : ""}${summary}; ${name} is served`);
      log.info({ model: name, steps: result.steps, seconds: result.seconds }, "fine-tuning succeeded");
    } catch (error) {
      if (error instanceof TrainingCancelled && !stopped) {
        await this.jobs.update(jobId, () => ({ status: "cancelled", finished_at: now(), estimated_finish: null }));
        await this.jobs.addEvent(jobId, "The job was cancelled");
        log.info("fine-tuning cancelled");
        return;
      }
      const reason = stopped ? "the worker shut down before the job finished" : describe(error);
      log.error({ err: error }, "fine-tuning failed");
      await this.fail(jobId, reason, error instanceof StoreUnavailable ? "store_unavailable" : "training_failed");
    } finally {
      stop.removeEventListener("abort", onStop);
    }
  }

  /** Records a job as failed (idempotent; a job that already ended keeps its end). */
  async fail(jobId: string, message: string, code = "training_failed"): Promise<void> {
    const job = await this.jobs.update(jobId, () => ({ status: "failed", finished_at: now(), estimated_finish: null, error: { code, message, param: null } }));
    if (job?.status === "failed" && job.error?.message === message) await this.jobs.addEvent(jobId, `The job failed: ${message}`, { level: "error" });
  }

  private async report(jobId: string, progress: Progress): Promise<void> {
    const validation = progress.validationLoss === undefined ? "" : `, validation loss=${progress.validationLoss.toFixed(4)}`;
    await this.jobs.addEvent(
      jobId,
      `Step ${progress.step}/${progress.totalSteps}: training loss=${progress.trainLoss.toFixed(4)}${validation}, ${progress.tokensPerSecond.toFixed(0)} tokens/s, ETA ${Math.round(progress.etaSeconds)} s`,
      {
        data: {
          step: progress.step,
          total_steps: progress.totalSteps,
          epoch: progress.epoch,
          train_loss: progress.trainLoss,
          train_mean_token_accuracy: progress.trainAccuracy,
          valid_loss: progress.validationLoss ?? null,
          valid_mean_token_accuracy: progress.validationAccuracy ?? null,
          learning_rate: progress.learningRate,
          tokens_per_second: progress.tokensPerSecond,
          eta_seconds: progress.etaSeconds,
        },
      },
    );
    await this.jobs.update(jobId, () => ({ estimated_finish: Math.round(Date.now() / 1000 + progress.etaSeconds) }));
  }

  private modelPath(id: string): string {
    const spec = this.served.find((model) => model.id === id);
    if (spec === undefined) throw new Error(`this worker does not have the model ${id} (TARGET_MODEL / MODELS)`);
    return spec.path;
  }
}

/** As /v1/load_lora_adapter publishes: bytes by sha256, a new version number, then the record replicas sync to. */
async function publish(registry: AdapterRegistry, base: string, adapter: LoraAdapter): Promise<AdapterRecord> {
  const bytes = encodeLoraAdapter(adapter);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const record: AdapterRecord = {
    name: adapter.name,
    version: await registry.nextVersion(adapter.name),
    base,
    rank: adapter.rank,
    alpha: adapter.alpha,
    scale: 1,
    sha256,
    size: bytes.byteLength,
    created: now(),
    state: "ready",
  };
  await registry.putBlob(sha256, bytes);
  await registry.publish(record);
  return record;
}

/** A served adapter as a checkpoint, with the metrics of the step it is from (validation ones where it was evaluated). */
function checkpoint(jobId: string, model: string, step: number, result: FinetuneResult): JobCheckpoint {
  const at = result.history.find((progress) => progress.step === step);
  const validation = at?.validationLoss ?? (step === 0 ? result.baseValidationLoss : undefined);
  return {
    id: newCheckpointId(),
    object: "fine_tuning.job.checkpoint",
    created_at: now(),
    fine_tuned_model_checkpoint: model,
    step_number: step,
    metrics: {
      step,
      ...(at === undefined ? {} : { train_loss: at.trainLoss, train_mean_token_accuracy: at.trainAccuracy }),
      ...(validation === undefined ? {} : { valid_loss: validation, full_valid_loss: validation }),
      ...(at?.validationAccuracy === undefined ? {} : { valid_mean_token_accuracy: at.validationAccuracy, full_valid_mean_token_accuracy: at.validationAccuracy }),
    },
    fine_tuning_job_id: jobId,
  };
}

function describe(error: unknown): string {
  if (error instanceof StoreUnavailable) return "the shared store (Redis) became unreachable during training";
  const code = (error as { code?: unknown }).code;
  if (code === "ENOSPC") return "the disk is full";
  return error instanceof Error ? error.message : String(error);
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}
