import { z } from "zod";

/**
 * Every setting comes from an environment variable; `--flag=value` on the command line mirrors
 * the variable of the same name in kebab case (`--port=9000` for PORT). Parsed once at start-up.
 */
const csv = z
  .string()
  .transform((value) => value.split(",").map((part) => part.trim()).filter((part) => part.length > 0));

/** `https://host[:port]` exactly as a browser sends it in Origin (no path, no trailing slash). */
function isOrigin(value: string): boolean {
  try {
    return new URL(value).origin === value;
  } catch {
    return false;
  }
}

const boolean = z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1");

const envSchema = z.object({
  HOST: z.string().default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  TARGET_MODEL: z.string().default("models/target.gguf"),
  TARGET_MODEL_ID: z.string().optional(),
  DRAFT_MODEL: z.string().default("models/draft.gguf"),
  /** Extra served models: `id=path,id2=path2`. */
  MODELS: z.string().default(""),
  /** GGUF embedding models, `id=path,...`: served on /v1/embeddings. */
  EMBEDDING_MODELS: z.string().default(""),
  /** GGUF reranker models (cross-encoders with a classifier head), `id=path,...`: served on /v1/rerank. */
  RERANK_MODELS: z.string().default(""),
  /** A Jinja chat template file used instead of the GGUFs' own. */
  CHAT_TEMPLATE: z.string().optional(),
  REDIS_URL: z.string().optional(),
  /** Redis connect and command timeout; past it a route that needs the store answers 503 store_unavailable. */
  STORE_TIMEOUT_MS: z.coerce.number().int().min(10).default(2_000),
  API_KEYS: csv.optional(),
  ADMIN_API_KEYS: csv.optional(),
  METRICS_AUTH: boolean.default(false),
  /** Browser origins (scheme://host[:port]) allowed to call the API cross-site; unset: CORS off. */
  CORS_ORIGINS: csv.pipe(z.array(z.string().refine(isOrigin, "each entry must be an origin such as https://app.example.com"))).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  GPU: z.enum(["auto", "false", "cuda", "vulkan", "metal"]).default("auto"),
  THREADS: z.coerce.number().int().min(1).default(1),
  CONTEXT_SIZE: z.coerce.number().int().min(0).default(0),
  SEQUENCES: z.coerce.number().int().min(1).max(64).default(8),
  CONTEXTS: z.coerce.number().int().min(0).max(64).default(0),
  BATCH_SIZE: z.coerce.number().int().min(1).default(512),
  MAX_QUEUE: z.coerce.number().int().min(0).default(64),
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1).default(120_000),
  MAX_BODY_BYTES: z.coerce.number().int().min(1).default(1_048_576),
  /** Request line plus headers (Node's maxHeaderSize); past it 431. */
  MAX_HEADER_BYTES: z.coerce.number().int().min(1024).default(16_384),
  MAX_URL_BYTES: z.coerce.number().int().min(64).default(8192),
  /** Prompts and messages go into the request log only when this is true. */
  LOG_PROMPTS: boolean.default(false),
  MAX_TOKENS_BUDGET: z.coerce.number().int().min(1).default(8192),
  /** The most Monte Carlo samples one metric_aware request may ask for. */
  METRIC_AWARE_MAX_SAMPLES: z.coerce.number().int().min(1).default(32),
  /** The most candidates one metric_aware request may score (a list or a range). */
  METRIC_AWARE_MAX_CANDIDATES: z.coerce.number().int().min(1).default(256),
  SHUTDOWN_DEADLINE_MS: z.coerce.number().int().min(0).default(30_000),
  RETRY_AFTER_SECONDS: z.coerce.number().int().min(1).default(1),
  /** off: never load the draft's contexts; auto: requests speculate as the tuner decides unless they say otherwise. */
  SPECULATION: z.enum(["auto", "off"]).default("auto"),
  SPEC_MAX_K: z.coerce.number().int().min(1).max(8).default(4),
  SPEC_MAX_L: z.coerce.number().int().min(1).max(16).default(8),
  ADAPTERS_DIR: z.string().default("adapters"),
  ADAPTER_MAX_BYTES: z.coerce.number().int().min(1).default(64 * 1024 * 1024),
  ADAPTER_CACHE_DIR: z.string().optional(),
  ADAPTER_SYNC_MS: z.coerce.number().int().min(10).default(200),
  /** Largest fine-tuning file /v1/files accepts. */
  MAX_UPLOAD_BYTES: z.coerce.number().int().min(1).default(16 * 1024 * 1024),
  /** Fine-tuning jobs this process trains at a time (0: none; leave them to `npm run worker`). */
  WORKERS: z.coerce.number().int().min(0).max(16).default(1),
  /** A worker silent this long (dead, or frozen in one step) loses its job to another worker. */
  FINETUNE_LOCK_MS: z.coerce.number().int().min(500).default(60_000),
  /** Largest number of optimizer steps a job may ask for (n_epochs x batches). */
  FINETUNE_MAX_STEPS: z.coerce.number().int().min(1).default(5_000),
  /** LITE reranker artifact (kernels/lite/artifact.ts): serves its scorers (`lite`, `lite-quarter`), `maxsim` and `dual-encoder`; `off`: bm25 and GGUF rerankers only. */
  RERANK_ARTIFACT: z.string().default("models/rerank/lite-wink.bin"),
  RERANK_MAX_DOCUMENTS: z.coerce.number().int().min(1).default(1000),
  /** Tokens read per document (longer ones are cut, or refused with `truncate: false`); also the query's limit. */
  RERANK_MAX_DOCUMENT_TOKENS: z.coerce.number().int().min(1).default(512),
  /** Rerank requests scored at once; more wait in the scheduler's queue (MAX_QUEUE, then 429). */
  RERANK_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  /** The most bytes of stored document tokens alive in the document-token cache (0: no cache). */
  RERANK_CACHE_MAX_BYTES: z.coerce.number().int().min(0).default(256 * 1024 * 1024),
  /** How long a document stays in the document-token cache. */
  RERANK_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).default(3_600),
});

/** What a served model does: generate text (completions, chat), rank documents, or embed text. */
export type ModelKind = "generative" | "ranking" | "embedding";

export interface ModelSpec {
  id: string;
  path: string;
  kind: ModelKind;
}

export interface Config {
  host: string;
  port: number;
  models: ModelSpec[];
  draftModelPath: string;
  chatTemplatePath: string | undefined;
  redisUrl: string | undefined;
  storeTimeoutMs: number;
  apiKeys: string[];
  adminApiKeys: string[];
  metricsRequireAuth: boolean;
  corsOrigins: string[];
  logLevel: string;
  gpu: "auto" | false | "cuda" | "vulkan" | "metal";
  threads: number;
  /** 0: the model's training context, capped (see ServedModel). */
  contextSize: number;
  sequences: number;
  /** 0: one per THREADS cores on CPU (capped at SEQUENCES), one on a GPU. */
  contexts: number;
  batchSize: number;
  maxQueue: number;
  requestTimeoutMs: number;
  maxBodyBytes: number;
  maxHeaderBytes: number;
  maxUrlBytes: number;
  logPrompts: boolean;
  maxTokensBudget: number;
  /** Limits of the metric_aware extension: Monte Carlo samples and grid candidates per request. */
  metricAware: { maxSamples: number; maxCandidates: number };
  shutdownDeadlineMs: number;
  retryAfterSeconds: number;
  /** Speculative decoding with the draft model: whether it is set up, and the largest (K, L). */
  speculation: { enabled: boolean; maxK: number; maxL: number };
  /** `lora_path` must resolve (symlinks followed) inside this directory. */
  adaptersDir: string;
  adapterMaxBytes: number;
  /** Where this replica writes the adapter files node-llama-cpp loads (default: a fresh directory under the OS temp dir). */
  adapterCacheDir: string | undefined;
  /** How often this replica checks the shared registry for adapter changes. */
  adapterSyncMs: number;
  maxUploadBytes: number;
  workers: number;
  finetuneLockMs: number;
  finetuneMaxSteps: number;
  rerank: { artifactPath: string; maxDocuments: number; maxDocumentTokens: number; concurrency: number; cacheMaxBytes: number; cacheTtlMs: number };
}

export type Environment = Record<string, string | undefined>;

/** Folds `--name=value` / `--name value` flags over the environment (flags win). */
export function flagsToEnvironment(argv: readonly string[]): Environment {
  const result: Environment = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) continue;
    const [rawName, inlineValue] = arg.slice(2).split(/=(.*)/s, 2);
    const name = rawName!.replaceAll("-", "_").toUpperCase();
    if (inlineValue !== undefined) result[name] = inlineValue;
    else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith("--")) result[name] = argv[++i];
    else result[name] = "true";
  }
  return result;
}

export function parseModelList(list: string, kind: ModelKind = "generative", variable = "MODELS"): ModelSpec[] {
  return list
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const separator = entry.indexOf("=");
      if (separator <= 0) throw new Error(`${variable} entry "${entry}" must be id=path`);
      return { id: entry.slice(0, separator), path: entry.slice(separator + 1), kind };
    });
}

export function modelIdFromPath(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.gguf$/i, "");
}

export function loadConfig(environment: Environment, argv: readonly string[] = []): Config {
  const merged = { ...environment, ...flagsToEnvironment(argv) };
  const blankAsUnset = Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== ""));
  const parsed = envSchema.safeParse(blankAsUnset);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`Invalid configuration ${issue.path.join(".")}: ${issue.message}`);
  }
  const env = parsed.data;
  const target: ModelSpec = { id: env.TARGET_MODEL_ID ?? modelIdFromPath(env.TARGET_MODEL), path: env.TARGET_MODEL, kind: "generative" };
  const models = [target, ...parseModelList(env.MODELS), ...parseModelList(env.EMBEDDING_MODELS, "embedding", "EMBEDDING_MODELS"), ...parseModelList(env.RERANK_MODELS, "ranking", "RERANK_MODELS")];
  const ids = new Set(models.map((model) => model.id));
  if (ids.size !== models.length) throw new Error("Model ids must be unique");
  return {
    host: env.HOST,
    port: env.PORT,
    models,
    draftModelPath: env.DRAFT_MODEL,
    chatTemplatePath: env.CHAT_TEMPLATE,
    redisUrl: env.REDIS_URL,
    storeTimeoutMs: env.STORE_TIMEOUT_MS,
    apiKeys: env.API_KEYS ?? [],
    adminApiKeys: env.ADMIN_API_KEYS ?? [],
    metricsRequireAuth: env.METRICS_AUTH,
    corsOrigins: env.CORS_ORIGINS ?? [],
    logLevel: env.LOG_LEVEL,
    gpu: env.GPU === "false" ? false : env.GPU,
    threads: env.THREADS,
    contextSize: env.CONTEXT_SIZE,
    sequences: env.SEQUENCES,
    contexts: env.CONTEXTS,
    batchSize: env.BATCH_SIZE,
    maxQueue: env.MAX_QUEUE,
    requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
    maxBodyBytes: env.MAX_BODY_BYTES,
    maxHeaderBytes: env.MAX_HEADER_BYTES,
    maxUrlBytes: env.MAX_URL_BYTES,
    logPrompts: env.LOG_PROMPTS,
    maxTokensBudget: env.MAX_TOKENS_BUDGET,
    metricAware: { maxSamples: env.METRIC_AWARE_MAX_SAMPLES, maxCandidates: env.METRIC_AWARE_MAX_CANDIDATES },
    shutdownDeadlineMs: env.SHUTDOWN_DEADLINE_MS,
    retryAfterSeconds: env.RETRY_AFTER_SECONDS,
    speculation: { enabled: env.SPECULATION === "auto", maxK: env.SPEC_MAX_K, maxL: env.SPEC_MAX_L },
    adaptersDir: env.ADAPTERS_DIR,
    adapterMaxBytes: env.ADAPTER_MAX_BYTES,
    adapterCacheDir: env.ADAPTER_CACHE_DIR,
    adapterSyncMs: env.ADAPTER_SYNC_MS,
    maxUploadBytes: env.MAX_UPLOAD_BYTES,
    workers: env.WORKERS,
    finetuneLockMs: env.FINETUNE_LOCK_MS,
    finetuneMaxSteps: env.FINETUNE_MAX_STEPS,
    rerank: {
      artifactPath: env.RERANK_ARTIFACT === "off" ? "" : env.RERANK_ARTIFACT,
      maxDocuments: env.RERANK_MAX_DOCUMENTS,
      maxDocumentTokens: env.RERANK_MAX_DOCUMENT_TOKENS,
      concurrency: env.RERANK_CONCURRENCY,
      cacheMaxBytes: env.RERANK_CACHE_MAX_BYTES,
      cacheTtlMs: env.RERANK_CACHE_TTL_SECONDS * 1000,
    },
  };
}
