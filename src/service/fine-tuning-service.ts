/**
 * /v1/fine_tuning/jobs. A job is created only once everything about it checks out: the base
 * model is the one adapters apply to, its files exist and tokenize (with the served model's
 * own chat template) within its context, and the hyperparameters make a bounded run. The
 * tokenized data is stored with the job, so a worker needs neither the engine nor the files.
 */
import { randomInt } from "node:crypto";
import { parseDataset } from "../../kernels/finetune/dataset.ts";
import { encodeExample, tooLong, type TokenizedExample } from "../../kernels/finetune/encode.ts";
import { trainingFormatter } from "../engine/training-formatter.ts";
import type { ServedModel } from "../engine/served-model.ts";
import { resolveHyperparameters, stepsOf } from "../finetune/hyperparameters.ts";
import { fineTunedModelName, newJobId, TERMINAL } from "../finetune/job-store.ts";
import { ApiError, invalidRequest } from "../protocol/errors.ts";
import type { CreateJobRequest, FineTuningJob, IdListPage, JobCheckpoint, JobEvent, ListPage } from "../protocol/fine-tuning.ts";
import { fileContent, fileNotFound, fineTuning } from "./files-service.ts";
import { startAfter } from "./list-cursor.ts";
import type { Gateway } from "./gateway.ts";

export const jobNotFound = (id: string): ApiError => new ApiError(404, "invalid_request_error", `No such fine-tuning job: ${id}`, "fine_tuning_job_id", "fine_tuning_job_not_found");

export async function createJob(gateway: Gateway, request: CreateJobRequest): Promise<FineTuningJob> {
  const base = baseModel(gateway, request.model);
  const train = await tokenizedFile(gateway, base, request.training_file, "training_file");
  const validation = request.validation_file ? await tokenizedFile(gateway, base, request.validation_file, "validation_file") : undefined;
  const hyperparameters = resolveHyperparameters({ ...request.hyperparameters, ...request.method?.supervised?.hyperparameters });
  const trainCount = validation === undefined ? Math.max(1, train.length - Math.round(train.length * 0.1)) : train.length;
  const steps = stepsOf(hyperparameters, trainCount);
  const { finetuneMaxSteps } = gateway.config;
  if (steps > finetuneMaxSteps) {
    throw invalidRequest(`n_epochs x batches is ${steps} optimizer steps; this server runs at most ${finetuneMaxSteps} (FINETUNE_MAX_STEPS). Use fewer epochs or a larger batch_size.`, "hyperparameters.n_epochs", "too_many_steps");
  }
  const id = newJobId();
  const job: FineTuningJob = {
    id,
    object: "fine_tuning.job",
    created_at: Math.floor(Date.now() / 1000),
    error: null,
    fine_tuned_model: null,
    finished_at: null,
    hyperparameters,
    method: { type: "supervised", supervised: { hyperparameters } },
    model: request.model,
    organization_id: "org-local",
    result_files: [],
    seed: request.seed ?? randomInt(2 ** 31 - 1),
    status: "queued",
    trained_tokens: null,
    training_file: request.training_file,
    validation_file: request.validation_file ?? null,
    estimated_finish: null,
    integrations: null,
    metadata: request.metadata ?? null,
    user_provided_suffix: request.suffix ?? null,
  };
  const { jobs, queue } = fineTuning(gateway);
  try {
    await jobs.putData(id, validation === undefined ? { train } : { train, validation });
    await jobs.put(job);
    await jobs.addEvent(id, `Created fine-tuning job ${id}: ${train.length} training sequences${validation ? `, ${validation.length} validation sequences` : ""}, ${steps} steps with ${hyperparameters.optimizer}; the adapter will be served as ${fineTunedModelName(job)}`);
    await queue.enqueue(id);
  } catch (error) {
    // Nothing half-created: a job that could not be queued is not listed either.
    await jobs.remove(id).catch(() => undefined);
    throw error;
  }
  return job;
}

export async function listJobs(gateway: Gateway, query: { limit: number; after?: string }): Promise<ListPage<FineTuningJob>> {
  return page(await fineTuning(gateway).jobs.list(), query);
}

export async function getJob(gateway: Gateway, id: string): Promise<FineTuningJob> {
  const job = await fineTuning(gateway).jobs.get(id);
  if (job === undefined) throw jobNotFound(id);
  return job;
}

export async function listEvents(gateway: Gateway, id: string, query: { limit: number; after?: string }): Promise<ListPage<JobEvent>> {
  await getJob(gateway, id);
  return page(await fineTuning(gateway).jobs.events(id), query);
}

/** The job's saved adapters, newest first; a job has its checkpoint once it succeeded. */
export async function listCheckpoints(gateway: Gateway, id: string, query: { limit: number; after?: string }): Promise<IdListPage<JobCheckpoint>> {
  await getJob(gateway, id);
  const listed = page(await fineTuning(gateway).jobs.checkpoints(id), query);
  return { ...listed, first_id: listed.data[0]?.id ?? null, last_id: listed.data.at(-1)?.id ?? null };
}

/**
 * A queued job is cancelled at once; a running one as soon as its worker finishes the
 * optimizer step it is in (it reads the flag between steps).
 */
export async function cancelJob(gateway: Gateway, id: string): Promise<FineTuningJob> {
  const { jobs } = fineTuning(gateway);
  const job = await getJob(gateway, id);
  if (TERMINAL.has(job.status)) throw invalidRequest(`The job has already ${job.status === "succeeded" ? "succeeded" : job.status === "failed" ? "failed" : "been cancelled"}.`, "fine_tuning_job_id", "job_not_cancellable");
  await jobs.requestCancel(id);
  if (job.status === "queued") {
    await jobs.update(id, () => ({ status: "cancelled", finished_at: Math.floor(Date.now() / 1000) }));
    await jobs.addEvent(id, "The job was cancelled before it started");
  } else {
    await jobs.addEvent(id, "Cancellation requested; the job stops after its current step");
  }
  // OpenAI answers with the job as cancelled; a worker confirms it within one step.
  return { ...(await getJob(gateway, id)), status: "cancelled" };
}

function baseModel(gateway: Gateway, model: string): ServedModel {
  const engine = gateway.servingEngine();
  const base = gateway.config.models[0]!.id;
  if (model !== base) {
    if (engine.get(model) === undefined) throw invalidRequest(`The model \`${model}\` does not exist or cannot be fine-tuned; this server fine-tunes \`${base}\`.`, "model", "model_not_found");
    throw invalidRequest(`Only \`${base}\` can be fine-tuned here (adapters apply to the first served model).`, "model", "model_not_fine_tunable");
  }
  return engine.get(base)!;
}

async function tokenizedFile(gateway: Gateway, base: ServedModel, fileId: string, param: string): Promise<TokenizedExample[]> {
  const { file, bytes } = await fileContent(gateway, fileId).catch((error: unknown) => {
    // OpenAI answers an unknown file in a job request with a 400 naming the parameter.
    if (error instanceof ApiError && error.status === 404) throw invalidRequest(fileNotFound(fileId).message, param, "file_not_found");
    throw error;
  });
  if (file.purpose !== "fine-tune") throw invalidRequest(`File ${fileId} has purpose ${file.purpose}; training data is uploaded with purpose fine-tune.`, param, "invalid_file_purpose");
  const { examples, lines } = parseDataset(new TextDecoder().decode(bytes));
  const formatter = trainingFormatter(base);
  const sequences = examples.map((example) => encodeExample(example, formatter));
  const tokenized = sequences.flat();
  const sequenceLines = sequences.flatMap((encoded, index) => encoded.map(() => lines[index]!));
  const long = tooLong(tokenized, base.contextSize);
  if (long.length > 0) {
    const lineCount = new Set(long.map(({ index }) => sequenceLines[index])).size;
    const named = long.slice(0, 10).map(({ index, tokens }) => `line ${sequenceLines[index]} (${tokens} tokens)`).join(", ");
    throw invalidRequest(`${lineCount} example${lineCount === 1 ? " is" : "s are"} longer than the model's context of ${base.contextSize} tokens: ${named}${long.length > 10 ? ", ..." : ""}. Shorten or remove them; nothing is cut silently.`, param, "examples_too_long");
  }
  return tokenized;
}

function page<T extends { id: string }>(items: T[], query: { limit: number; after?: string }): ListPage<T> {
  const start = startAfter(items, query.after);
  const data = items.slice(start, start + query.limit);
  return { object: "list", data, has_more: start + query.limit < items.length };
}
