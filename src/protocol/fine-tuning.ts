/**
 * OpenAI's fine-tuning jobs API. Our hyperparameters sit in the same object as OpenAI's
 * (method.supervised.hyperparameters): optimizer, rank, alpha, targets, dropout.
 */
import { z } from "zod";
import { PROJECTIONS } from "../../kernels/transformer/weights.ts";

const auto = z.literal("auto");

export const hyperparametersSchema = z.strictObject({
  n_epochs: z.union([auto, z.number().int().min(1).max(50)]).optional(),
  batch_size: z.union([auto, z.number().int().min(1).max(64)]).optional(),
  learning_rate_multiplier: z.union([auto, z.number().gt(0).max(100)]).optional(),
  optimizer: z.enum(["rite", "adam"]).optional(),
  rank: z.number().int().min(1).max(64).optional(),
  alpha: z.number().gt(0).max(1024).optional(),
  targets: z.array(z.enum(PROJECTIONS)).min(1).max(PROJECTIONS.length).refine((list) => new Set(list).size === list.length, "targets must be distinct").optional(),
  dropout: z.number().min(0).max(0.9).optional(),
});

export type Hyperparameters = z.infer<typeof hyperparametersSchema>;

const fileId = z.string().min(1).max(128);

export const createJobRequestSchema = z.strictObject({
  model: z.string().min(1).max(256),
  training_file: fileId,
  validation_file: fileId.nullish(),
  /** Deprecated by OpenAI in favour of method, still accepted. */
  hyperparameters: hyperparametersSchema.optional(),
  method: z
    .strictObject({
      type: z.literal("supervised"),
      supervised: z.strictObject({ hyperparameters: hyperparametersSchema.optional() }).optional(),
    })
    .optional(),
  suffix: z.string().regex(/^[A-Za-z0-9_-]{1,18}$/, "must be 1-18 letters, digits, '_' or '-'").nullish(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).nullish(),
  metadata: z.record(z.string().max(64), z.string().max(512)).nullish(),
  integrations: z.array(z.unknown()).max(0, "integrations are not supported").nullish(),
});

export type CreateJobRequest = z.infer<typeof createJobRequestSchema>;

export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  after: z.string().max(128).optional(),
  metadata: z.unknown().optional(),
});

export type JobStatus = "validating_files" | "queued" | "running" | "succeeded" | "failed" | "cancelled";

/** The hyperparameters a job runs with, every value resolved. */
export interface ResolvedHyperparameters {
  n_epochs: number;
  batch_size: number;
  learning_rate_multiplier: number;
  optimizer: "rite" | "adam";
  rank: number;
  alpha: number;
  targets: (typeof PROJECTIONS)[number][];
  dropout: number;
}

export interface FineTuningJob {
  id: string;
  object: "fine_tuning.job";
  created_at: number;
  error: { code: string; message: string; param: string | null } | null;
  fine_tuned_model: string | null;
  finished_at: number | null;
  hyperparameters: ResolvedHyperparameters;
  method: { type: "supervised"; supervised: { hyperparameters: ResolvedHyperparameters } };
  model: string;
  organization_id: string;
  result_files: string[];
  seed: number;
  status: JobStatus;
  trained_tokens: number | null;
  training_file: string;
  validation_file: string | null;
  estimated_finish: number | null;
  integrations: null;
  metadata: Record<string, string> | null;
  user_provided_suffix: string | null;
}

export interface JobEvent {
  id: string;
  object: "fine_tuning.job.event";
  created_at: number;
  level: "info" | "warn" | "error";
  message: string;
  type: "message" | "metrics";
  data: Record<string, unknown> | null;
}

/** A saved adapter of a job, servable under fine_tuned_model_checkpoint. */
export interface JobCheckpoint {
  id: string;
  object: "fine_tuning.job.checkpoint";
  created_at: number;
  fine_tuned_model_checkpoint: string;
  step_number: number;
  /** At that step; the validation figures are the whole validation set's (full_valid_* repeat them, as OpenAI names them). */
  metrics: {
    step: number;
    train_loss?: number;
    train_mean_token_accuracy?: number;
    valid_loss?: number;
    valid_mean_token_accuracy?: number;
    full_valid_loss?: number;
    full_valid_mean_token_accuracy?: number;
  };
  fine_tuning_job_id: string;
}

export interface ListPage<T> {
  object: "list";
  data: T[];
  has_more: boolean;
}

/** Lists whose items carry ids OpenAI also reports as the page's first and last. */
export interface IdListPage<T> extends ListPage<T> {
  first_id: string | null;
  last_id: string | null;
}
