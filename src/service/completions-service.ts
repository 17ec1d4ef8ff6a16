import { randomUUID } from "node:crypto";
import type { DecodedToken } from "../engine/decoding/strategy.ts";
import type { ServedModel } from "../engine/served-model.ts";
import { TextOffsets } from "../engine/text/token-bytes.ts";
import type { RequestLog } from "../logging/request-log.ts";
import type { CompletionChoice, CompletionRequest, CompletionResponse } from "../protocol/completions.ts";
import { invalidRequest } from "../protocol/errors.ts";
import type { Gateway } from "./gateway.ts";
import { generate, usage, type ChunkSink, type Prepared } from "./generation-flow.ts";
import { completionLogprobs } from "./logprobs.ts";
import { buildMetricAwarePlan, metricAwareLimits } from "./metric-plan.ts";
import { metricAwareField } from "./metric-evidence.ts";
import { buildPlan, checkPromptTexts, tokenizeEach } from "./plan.ts";
import { requestGrammar } from "./structured-output.ts";

interface PreparedCompletion extends Prepared {
  model: ServedModel;
  promptTexts: string[];
  envelope: Omit<CompletionResponse, "choices" | "usage">;
}

/** POST /v1/completions, non-streaming. */
export function createCompletion(gateway: Gateway, request: CompletionRequest, signal: AbortSignal, log: RequestLog): Promise<CompletionResponse> {
  const echo = request.echo === true;
  return generate(gateway, request.model, signal, log, (model, fingerprint) => prepare(gateway, model, fingerprint, request), ({ model, prepared, result }) => ({
    ...prepared.envelope,
    choices: result.choices.map((choice): CompletionChoice => ({
      text: (echo ? prepared.promptTexts[choice.promptIndex]! : "") + choice.text,
      index: choice.index,
      logprobs: request.logprobs == null ? null : completionLogprobs(model, [...(choice.promptScores ?? []), ...choice.tokens], new TextOffsets()),
      finish_reason: choice.outcome.finishReason,
      ...metricAwareField(choice, prepared.metricAware),
    })),
    usage: usage(result),
  }));
}

/** POST /v1/completions with stream: true; every chunk goes to `send`, then [DONE] is the caller's. */
export function streamCompletion(gateway: Gateway, request: CompletionRequest, signal: AbortSignal, log: RequestLog, send: ChunkSink): Promise<void> {
  const includeUsage = request.stream_options?.include_usage === true;
  const chunk = (prepared: PreparedCompletion, choices: CompletionChoice[]): unknown => ({ ...prepared.envelope, choices, ...(includeUsage ? { usage: null } : {}) });
  // Where each choice's tokens start in its text, for text_offset.
  const offsets = new Map<number, TextOffsets>();
  const offsetsOf = (index: number): TextOffsets => {
    let choiceOffsets = offsets.get(index);
    if (choiceOffsets === undefined) offsets.set(index, (choiceOffsets = new TextOffsets()));
    return choiceOffsets;
  };
  return generate(
    gateway,
    request.model,
    signal,
    log,
    (model, fingerprint) => prepare(gateway, model, fingerprint, request),
    async ({ prepared, result }) => {
      for (const choice of result.choices) await send(chunk(prepared, [{ text: "", index: choice.index, logprobs: null, finish_reason: choice.outcome.finishReason }]));
      if (includeUsage) await send({ ...prepared.envelope, choices: [], usage: usage(result) });
    },
    (prepared) => {
      const emit = async (index: number, text: string, tokens: DecodedToken[]): Promise<void> => {
        const logprobs = request.logprobs == null ? null : completionLogprobs(prepared.model, tokens, offsetsOf(index));
        if (text.length > 0 || tokens.length > 0) await send(chunk(prepared, [{ text, index, logprobs, finish_reason: null }]));
      };
      return {
        onStart: async (index, promptScores) => {
          if (request.echo === true) await emit(index, prepared.promptTexts[Math.floor(index / prepared.plan.n)]!, promptScores ?? []);
        },
        onDelta: emit,
      };
    },
  );
}

async function prepare(gateway: Gateway, model: ServedModel, fingerprint: string, request: CompletionRequest): Promise<PreparedCompletion> {
  const n = request.n ?? 1;
  const bestOf = request.best_of ?? n;
  if (request.suffix != null && request.suffix !== "") throw invalidRequest("suffix is not supported by this model.", "suffix");
  if (bestOf < n) throw invalidRequest("best_of must be greater than or equal to n.", "best_of");
  // Ranking needs every sample finished, so nothing could be streamed; best_of = n ranks nothing.
  if (request.stream === true && bestOf > n) throw invalidRequest("best_of cannot be used with stream.", "best_of");
  if (request.max_tokens === 0 && request.echo !== true) throw invalidRequest("max_tokens 0 only makes sense with echo (scoring the prompt).", "max_tokens");
  const prompts = await promptTokens(model, request.prompt, bestOf);
  const planned = buildPlan(request, {
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
  const grammar = await requestGrammar(model, request);
  const plan = grammar === undefined ? planned : { ...planned, grammar };
  const metricAware = request.metric_aware == null ? undefined : buildMetricAwarePlan(request.metric_aware, request, plan, model, metricAwareLimits(gateway));
  return {
    model,
    plan,
    ...(metricAware === undefined ? {} : { metricAware }),
    promptTexts: prompts.map((prompt) => model.detokenize(prompt)),
    envelope: { id: `cmpl-${randomUUID()}`, object: "text_completion", created: Math.floor(Date.now() / 1000), model: model.id, system_fingerprint: fingerprint },
  };
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
