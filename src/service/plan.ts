import type { SamplingParams } from "../engine/sampling/params.ts";
import type { ServedModel } from "../engine/served-model.ts";
import type { SpeculationRequest } from "../engine/speculation.ts";
import { longestTokenChars } from "../engine/vocabulary.ts";
import { contextLengthExceeded, invalidRequest } from "../protocol/errors.ts";
import type { GenerationPlan } from "../engine/generation.ts";

/** The sampling fields both endpoints accept, after zod (null means unset). */
export interface SamplingRequest {
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  seed?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  repetition_penalty?: number | null;
  ignore_eos?: boolean | null;
  stop_token_ids?: number[] | null;
  speculation?: SpeculationRequest | null;
}

export interface PlanOptions {
  model: ServedModel;
  prompts: number[][];
  /** The request field the prompt came from, for error messages. */
  promptParam: "prompt" | "messages";
  maxTokens: number | undefined;
  /** Completions default to 16 tokens; chat to whatever context is left. */
  defaultMaxTokens: number | "rest";
  samplesPerPrompt: number;
  logprobs: number | null;
  scorePrompt: boolean;
  extraStops: string[];
  /** Upper bound on samples x max_tokens for one request. */
  tokenBudget: number;
}

/** Checks a request against the model's limits and turns it into a GenerationPlan, or throws a 400 naming the parameter. */
export function buildPlan(request: SamplingRequest, options: PlanOptions): GenerationPlan {
  const { model, prompts } = options;
  const n = request.n ?? 1;
  for (const prompt of prompts) checkPrompt(model, prompt, options.promptParam);
  const longest = Math.max(...prompts.map((prompt) => prompt.length));
  const totalSamples = prompts.length * options.samplesPerPrompt;
  const maxTokens = resolveMaxTokens(model, longest, totalSamples, options);
  if (totalSamples > model.pool.size) {
    throw invalidRequest(`This request asks for ${totalSamples} parallel sequences (prompts x ${options.samplesPerPrompt}); the model serves at most ${model.pool.size}.`, "n");
  }
  if (totalSamples * maxTokens > options.tokenBudget) {
    throw invalidRequest(`n x max_tokens (${totalSamples} x ${maxTokens}) exceeds this server's budget of ${options.tokenBudget} tokens per request.`, "max_tokens", "token_budget_exceeded");
  }
  return {
    prompts,
    samplesPerPrompt: options.samplesPerPrompt,
    n,
    maxTokens,
    sampling: samplingParams(request, model),
    stop: [...toList(request.stop), ...options.extraStops],
    stopTokenIds: new Set(checkTokens(model, request.stop_token_ids ?? [], "stop_token_ids")),
    ignoreEos: request.ignore_eos ?? false,
    logprobs: options.logprobs,
    scorePrompt: options.scorePrompt,
    speculation: checkSpeculation(model, request.speculation ?? undefined),
  };
}

/**
 * Refuses, before any tokenization, what cannot fit: more choices than the model has sequences,
 * or a text longer than the context could hold even if every token were the vocabulary's
 * longest (a text of C characters needs at least C / longest tokens). Tokenization is a
 * synchronous native call on the event loop; this bounds each one (7,680 characters for the
 * demo model: 512 tokens x 15) and how many one request makes.
 */
export function checkPromptTexts(model: ServedModel, texts: readonly string[], samplesPerPrompt: number, param: "prompt" | "messages" | "tools"): void {
  const samples = texts.length * samplesPerPrompt;
  if (samples > model.pool.size) {
    throw invalidRequest(`This request asks for ${samples} parallel sequences (prompts x ${samplesPerPrompt}); the model serves at most ${model.pool.size}.`, "n");
  }
  const limit = model.contextSize * longestTokenChars(model.model);
  const longest = Math.max(0, ...texts.map((text) => text.length));
  if (longest > limit) {
    throw contextLengthExceeded(
      `This model's maximum context length is ${model.contextSize} tokens. However, your ${param} has ${longest} characters, more than ${limit} (the context times the ${longestTokenChars(model.model)} characters of its longest token) could ever fit.`,
      param,
    );
  }
}

/** Tokenizes prompt texts one at a time, letting other requests run between them. */
export async function tokenizeEach(texts: readonly string[], tokenize: (text: string) => number[]): Promise<number[][]> {
  const prompts: number[][] = [];
  for (const text of texts) {
    if (prompts.length > 0) await new Promise((resolve) => setImmediate(resolve));
    prompts.push(tokenize(text));
  }
  return prompts;
}

/**
 * A fixed (K, L) must stay within the configured maxima, and speculating (L > 0) needs a draft
 * paired with the model; L = 0 is plain decoding (one sequence, whatever K).
 */
function checkSpeculation(model: ServedModel, request: SpeculationRequest | undefined): SpeculationRequest | undefined {
  if (request === undefined || typeof request === "string") return request;
  const { speculation } = model;
  if (speculation === undefined) {
    if (request.l === 0) return request;
    throw invalidRequest(`Speculative decoding is not available for model ${model.id} (no draft model is paired with it).`, "speculation");
  }
  if (request.k > speculation.maxK || request.l > speculation.maxL) {
    throw invalidRequest(`speculation asks for k = ${request.k}, l = ${request.l}; this server allows at most k = ${speculation.maxK}, l = ${speculation.maxL}.`, "speculation");
  }
  return request;
}

function checkPrompt(model: ServedModel, prompt: number[], param: string): void {
  if (prompt.length === 0) throw invalidRequest("The prompt is empty.", param);
  checkTokens(model, prompt, param);
  if (prompt.length >= model.contextSize) {
    throw contextLengthExceeded(
      `This model's maximum context length is ${model.contextSize} tokens. However, your ${param === "messages" ? "messages" : "prompt"} resulted in ${prompt.length} tokens.`,
      param,
    );
  }
}

function resolveMaxTokens(model: ServedModel, promptLength: number, totalSamples: number, options: PlanOptions): number {
  const room = model.contextSize - promptLength;
  if (options.maxTokens === undefined) {
    const wanted = options.defaultMaxTokens === "rest" ? Math.floor(options.tokenBudget / totalSamples) : options.defaultMaxTokens;
    return Math.max(1, Math.min(wanted, room));
  }
  if (options.maxTokens > room) {
    throw contextLengthExceeded(
      `This model's maximum context length is ${model.contextSize} tokens. However, you requested ${promptLength + options.maxTokens} tokens (${promptLength} in the ${options.promptParam}, ${options.maxTokens} for the completion). Please reduce the length of the ${options.promptParam} or completion.`,
      "max_tokens",
    );
  }
  return options.maxTokens;
}

function checkTokens(model: ServedModel, tokens: readonly number[], param: string): number[] {
  const bad = tokens.find((token) => !model.isVocabularyToken(token));
  if (bad !== undefined) throw invalidRequest(`Token id ${bad} is outside the model's vocabulary of ${model.vocabularySize}.`, param);
  return [...tokens];
}

function samplingParams(request: SamplingRequest, model: ServedModel): SamplingParams {
  const logitBias = new Map<number, number>();
  for (const [key, bias] of Object.entries(request.logit_bias ?? {})) {
    logitBias.set(checkTokens(model, [Number(key)], "logit_bias")[0]!, bias);
  }
  // A bias of -100 bans a token; banning them all leaves nothing to sample.
  let banned = 0;
  for (const bias of logitBias.values()) if (bias <= -100) banned++;
  if (banned >= model.vocabularySize) throw invalidRequest("logit_bias excludes every token.", "logit_bias");
  return {
    temperature: request.temperature ?? 1,
    topK: Math.max(0, request.top_k ?? 0),
    topP: request.top_p ?? 1,
    minP: request.min_p ?? 0,
    presencePenalty: request.presence_penalty ?? 0,
    frequencyPenalty: request.frequency_penalty ?? 0,
    repetitionPenalty: request.repetition_penalty ?? 1,
    logitBias,
    seed: request.seed ?? undefined,
  };
}

function toList(stop: string | string[] | null | undefined): string[] {
  if (stop == null) return [];
  return (typeof stop === "string" ? [stop] : stop).filter((value) => value.length > 0);
}
