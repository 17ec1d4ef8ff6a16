import { randomUUID } from "node:crypto";
import { renderChat, type TemplateMessage } from "../engine/chat-template.ts";
import type { ServedModel } from "../engine/served-model.ts";
import type { RequestLog } from "../logging/request-log.ts";
import type { ChatChunk, ChatChunkChoice, ChatMessage, ChatRequest, ChatResponse } from "../protocol/chat.ts";
import { invalidRequest } from "../protocol/errors.ts";
import { record, usage, type ChunkSink } from "./completions-service.ts";
import type { Gateway } from "./gateway.ts";
import { runGeneration, type GenerationPlan } from "./generation.ts";
import { chatLogprobs } from "./logprobs.ts";
import { buildPlan, checkPromptTexts } from "./plan.ts";

/** POST /v1/chat/completions, non-streaming. */
export async function createChatCompletion(gateway: Gateway, request: ChatRequest, signal: AbortSignal, log: RequestLog): Promise<ChatResponse> {
  using hold = gateway.acquire(request.model);
  const { model, plan } = prepare(gateway, hold.model, request);
  log.set({ model: model.id });
  const result = await runGeneration(gateway, model, plan, signal, log.arrivedAt);
  record(gateway, log, model, result);
  return {
    id: `chatcmpl-${randomUUID()}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: model.id,
    system_fingerprint: hold.fingerprint,
    choices: result.choices.map((choice) => ({
      index: choice.index,
      message: { role: "assistant", content: choice.text },
      logprobs: request.logprobs === true ? { content: chatLogprobs(model, choice.tokens) } : null,
      finish_reason: choice.outcome.finishReason,
    })),
    usage: usage(result),
  };
}

/** POST /v1/chat/completions with stream: true. */
export async function streamChatCompletion(gateway: Gateway, request: ChatRequest, signal: AbortSignal, log: RequestLog, send: ChunkSink): Promise<void> {
  using hold = gateway.acquire(request.model);
  const { model, plan } = prepare(gateway, hold.model, request);
  log.set({ model: model.id });
  const includeUsage = request.stream_options?.include_usage === true;
  const base: Omit<ChatChunk, "choices"> = {
    id: `chatcmpl-${randomUUID()}`,
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model: model.id,
    system_fingerprint: hold.fingerprint,
    ...(includeUsage ? { usage: null } : {}),
  };
  const chunk = (choice: ChatChunkChoice): ChatChunk => ({ ...base, choices: [choice] });
  // The role chunk goes out with a choice's first content, so errors before any token (429, queue timeout) stay HTTP errors.
  const opened = new Set<number>();
  const open = async (index: number): Promise<void> => {
    if (opened.has(index)) return;
    opened.add(index);
    await send(chunk({ index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }));
  };
  const result = await runGeneration(gateway, model, plan, signal, log.arrivedAt, {
    onDelta: async (index, text, tokens) => {
      if (text.length === 0 && tokens.length === 0) return;
      await open(index);
      const logprobs = request.logprobs === true ? { content: chatLogprobs(model, tokens) } : null;
      await send(chunk({ index, delta: { content: text }, logprobs, finish_reason: null }));
    },
  });
  record(gateway, log, model, result);
  for (const choice of result.choices) {
    await open(choice.index);
    await send(chunk({ index: choice.index, delta: {}, logprobs: null, finish_reason: choice.outcome.finishReason }));
  }
  if (includeUsage) await send({ ...base, choices: [], usage: usage(result) });
}

function prepare(gateway: Gateway, model: ServedModel, request: ChatRequest): { model: ServedModel; plan: GenerationPlan } {
  if (request.top_logprobs != null && request.logprobs !== true) throw invalidRequest("top_logprobs requires logprobs to be true.", "top_logprobs");
  if (request.top_logprobs != null && request.top_logprobs > 5) throw invalidRequest("top_logprobs above 5 is not supported.", "top_logprobs");
  const messages = request.messages.map(toTemplateMessage);
  // The rendered prompt holds every message's content, so their total bounds it from below.
  checkPromptTexts(model, [messages.map((message) => message.content).join("")], request.n ?? 1, "messages");
  const rendered = renderChat(model, messages);
  const plan = buildPlan(request, {
    model,
    prompts: [rendered.tokens],
    promptParam: "messages",
    maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
    defaultMaxTokens: "rest",
    samplesPerPrompt: request.n ?? 1,
    logprobs: request.logprobs === true ? (request.top_logprobs ?? 0) : null,
    scorePrompt: false,
    extraStops: rendered.stops,
    tokenBudget: gateway.config.maxTokensBudget,
  });
  return { model, plan };
}

function toTemplateMessage(message: ChatMessage): TemplateMessage {
  const role = message.role === "developer" ? "system" : message.role;
  const content = message.content ?? "";
  return { role, content: typeof content === "string" ? content : content.map((part) => part.text).join("") };
}
