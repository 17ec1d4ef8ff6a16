import { randomUUID } from "node:crypto";
import type { DecodedToken } from "../engine/decoding/strategy.ts";
import type { ServedModel } from "../engine/served-model.ts";
import type { RequestLog } from "../logging/request-log.ts";
import type { CompletionChoice, CompletionRequest, CompletionResponse } from "../protocol/completions.ts";
import { invalidRequest } from "../protocol/errors.ts";
import type { Usage } from "../protocol/sampling-fields.ts";
import type { Gateway } from "./gateway.ts";
import type { ModelHold } from "./model-hold.ts";
import { runGeneration, type GenerationPlan, type GenerationResult } from "./generation.ts";
import { completionLogprobs } from "./logprobs.ts";
import { buildPlan, checkPromptTexts, tokenizeEach } from "./plan.ts";

export type ChunkSink = (payload: unknown) => Promise<void>;

/** POST /v1/completions, non-streaming. */
export async function createCompletion(gateway: Gateway, request: CompletionRequest, signal: AbortSignal, log: RequestLog): Promise<CompletionResponse> {
  using hold = gateway.acquire(request.model);
  const { model, plan, promptTexts } = await prepare(gateway, hold.model, request);
  log.set({ model: model.id });
  const result = await runGeneration(gateway, model, plan, signal, log.arrivedAt);
  record(gateway, log, model, result);
  const echo = request.echo === true;
  return {
    ...envelope(hold),
    choices: result.choices.map((choice): CompletionChoice => ({
      text: (echo ? promptTexts[choice.promptIndex]! : "") + choice.text,
      index: choice.index,
      logprobs: request.logprobs == null ? null : completionLogprobs(model, [...(choice.promptScores ?? []), ...choice.tokens], 0),
      finish_reason: choice.outcome.finishReason,
    })),
    usage: usage(result),
  };
}

/** POST /v1/completions with stream: true; every chunk goes to `send`, then [DONE] is the caller's. */
export async function streamCompletion(gateway: Gateway, request: CompletionRequest, signal: AbortSignal, log: RequestLog, send: ChunkSink): Promise<void> {
  using hold = gateway.acquire(request.model);
  const { model, plan, promptTexts } = await prepare(gateway, hold.model, request);
  log.set({ model: model.id });
  const base = envelope(hold);
  const includeUsage = request.stream_options?.include_usage === true;
  const chunk = (choices: CompletionChoice[]): unknown => ({ ...base, choices, ...(includeUsage ? { usage: null } : {}) });
  // Where each choice's next text starts, for text_offset.
  const offsets = new Map<number, number>();
  const emit = async (index: number, text: string, tokens: DecodedToken[]): Promise<void> => {
    const offset = offsets.get(index) ?? 0;
    offsets.set(index, offset + text.length);
    const logprobs = request.logprobs == null ? null : completionLogprobs(model, tokens, offset);
    if (text.length > 0 || tokens.length > 0) await send(chunk([{ text, index, logprobs, finish_reason: null }]));
  };
  const result = await runGeneration(gateway, model, plan, signal, log.arrivedAt, {
    onStart: async (index, promptScores) => {
      if (request.echo === true) await emit(index, promptTexts[Math.floor(index / plan.n)]!, promptScores ?? []);
    },
    onDelta: emit,
  });
  record(gateway, log, model, result);
  for (const choice of result.choices) await send(chunk([{ text: "", index: choice.index, logprobs: null, finish_reason: choice.outcome.finishReason }]));
  if (includeUsage) await send({ ...base, choices: [], usage: usage(result) });
}

async function prepare(gateway: Gateway, model: ServedModel, request: CompletionRequest): Promise<{ model: ServedModel; plan: GenerationPlan; promptTexts: string[] }> {
  const n = request.n ?? 1;
  const bestOf = request.best_of ?? n;
  if (request.suffix != null && request.suffix !== "") throw invalidRequest("suffix is not supported by this model.", "suffix");
  if (bestOf < n) throw invalidRequest("best_of must be greater than or equal to n.", "best_of");
  // Ranking needs every sample finished, so nothing could be streamed; best_of = n ranks nothing.
  if (request.stream === true && bestOf > n) throw invalidRequest("best_of cannot be used with stream.", "best_of");
  if (request.max_tokens === 0 && request.echo !== true) throw invalidRequest("max_tokens 0 only makes sense with echo (scoring the prompt).", "max_tokens");
  const prompts = await promptTokens(model, request.prompt, bestOf);
  const plan = buildPlan(request, {
    model,
    prompts,
    promptParam: "prompt",
    maxTokens: request.max_tokens ?? undefined,
    defaultMaxTokens: 16,
    samplesPerPrompt: bestOf,
    // best_of ranks samples by mean logprob, so it needs them even when the client did not ask.
    logprobs: request.logprobs ?? (bestOf > n ? 0 : null),
    scorePrompt: request.echo === true && request.logprobs != null,
    extraStops: [],
    tokenBudget: gateway.config.maxTokensBudget,
  });
  return { model, plan, promptTexts: prompts.map((prompt) => model.detokenize(prompt)) };
}

/** OpenAI's four prompt forms: text, texts, tokens, token lists; texts are bounded before they are tokenized. */
async function promptTokens(model: ServedModel, prompt: CompletionRequest["prompt"], samplesPerPrompt: number): Promise<number[][]> {
  if (typeof prompt === "string" || prompt.every((item) => typeof item === "string")) {
    const texts = typeof prompt === "string" ? [prompt] : (prompt as string[]);
    checkPromptTexts(model, texts, samplesPerPrompt, "prompt");
    return tokenizeEach(texts, (text) => model.tokenize(text));
  }
  if (prompt.every((item) => typeof item === "number")) return [prompt as number[]];
  return prompt as number[][];
}

function envelope(hold: ModelHold): Omit<CompletionResponse, "choices" | "usage"> {
  return { id: `cmpl-${randomUUID()}`, object: "text_completion", created: Math.floor(Date.now() / 1000), model: hold.model.id, system_fingerprint: hold.fingerprint };
}

export function usage(result: GenerationResult): Usage {
  const tokens = { prompt_tokens: result.promptTokens, completion_tokens: result.completionTokens, total_tokens: result.promptTokens + result.completionTokens };
  return result.speculation === null ? tokens : { ...tokens, spec_decode: result.speculation };
}

export function record(gateway: Gateway, log: RequestLog, model: ServedModel, result: GenerationResult & { timings: { queueMs: number; ttftMs: number | null } }): void {
  log.set({
    prompt_tokens: result.promptTokens,
    completion_tokens: result.completionTokens,
    queue_ms: Math.round(result.timings.queueMs * 100) / 100,
    ...(result.timings.ttftMs === null ? {} : { ttft_ms: Math.round(result.timings.ttftMs * 100) / 100 }),
    ...(result.speculation === null ? {} : { spec_decode: result.speculation }),
  });
  gateway.recordUsage(model.id, result.promptTokens, result.completionTokens);
}
