import { randomUUID } from "node:crypto";
import type { TemplateMessage } from "../engine/chat-template.ts";
import type { ServedModel } from "../engine/served-model.ts";
import type { RequestLog } from "../logging/request-log.ts";
import type { ChatChoice, ChatChunk, ChatChunkChoice, ChatMessage, ChatRequest, ChatResponse } from "../protocol/chat.ts";
import type { FinishReason } from "../protocol/sampling-fields.ts";
import { invalidRequest } from "../protocol/errors.ts";
import type { Gateway } from "./gateway.ts";
import { generate, usage, type ChunkSink, type Prepared } from "./generation-flow.ts";
import { chatLogprobs } from "./logprobs.ts";
import { buildMetricAwarePlan, metricAwareLimits } from "./metric-plan.ts";
import { metricAwareField } from "./metric-evidence.ts";
import { buildPlan, checkPromptTexts } from "./plan.ts";
import { requestGrammar } from "./structured-output.ts";
import { prepareTools, ToolCallReader, type PreparedTools, type ToolEvent } from "./tool-calls.ts";

interface PreparedChat extends Prepared {
  model: ServedModel;
  id: string;
  created: number;
  fingerprint: string;
  tools: PreparedTools;
}

/** POST /v1/chat/completions, non-streaming. */
export function createChatCompletion(gateway: Gateway, request: ChatRequest, signal: AbortSignal, log: RequestLog): Promise<ChatResponse> {
  return generate(gateway, request.model, signal, log, (model, fingerprint) => prepare(gateway, model, fingerprint, request), ({ model, prepared, result }) => ({
    id: prepared.id,
    object: "chat.completion",
    created: prepared.created,
    model: model.id,
    system_fingerprint: prepared.fingerprint,
    choices: result.choices.map((choice): ChatChoice => {
      const logprobs = request.logprobs === true ? { content: chatLogprobs(model, choice.tokens) } : null;
      const evidence = metricAwareField(choice, prepared.metricAware);
      if (!prepared.tools.readsCalls) return { index: choice.index, message: { role: "assistant", content: choice.text }, logprobs, finish_reason: choice.outcome.finishReason, ...evidence };
      const reader = new ToolCallReader(prepared.tools.syntax);
      const events = visible(prepared, [...reader.push(choice.text), ...reader.finish()]);
      const content = events.map((event) => (event.kind === "content" ? event.text : "")).join("");
      if (reader.calls.length === 0) return { index: choice.index, message: { role: "assistant", content: isForced(prepared) ? null : content }, logprobs, finish_reason: choice.outcome.finishReason, ...evidence };
      return {
        index: choice.index,
        message: { role: "assistant", content: content.trim().length === 0 ? null : content, tool_calls: reader.calls },
        logprobs,
        finish_reason: finishWithCalls(choice.outcome.finishReason),
        ...evidence,
      };
    }),
    usage: usage(result),
  }));
}

/** POST /v1/chat/completions with stream: true. */
export function streamChatCompletion(gateway: Gateway, request: ChatRequest, signal: AbortSignal, log: RequestLog, send: ChunkSink): Promise<void> {
  const includeUsage = request.stream_options?.include_usage === true;
  const base = (prepared: PreparedChat): Omit<ChatChunk, "choices"> => ({
    id: prepared.id,
    object: "chat.completion.chunk",
    created: prepared.created,
    model: prepared.model.id,
    system_fingerprint: prepared.fingerprint,
    ...(includeUsage ? { usage: null } : {}),
  });
  const chunk = (prepared: PreparedChat, choice: ChatChunkChoice): ChatChunk => ({ ...base(prepared), choices: [choice] });
  const readers = new Map<number, ToolCallReader>();
  // The role chunk goes out with a choice's first content, so errors before any token (429, queue timeout) stay HTTP errors.
  const opened = new Set<number>();
  const open = async (prepared: PreparedChat, index: number): Promise<void> => {
    if (opened.has(index)) return;
    opened.add(index);
    await send(chunk(prepared, { index, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }));
  };
  return generate(
    gateway,
    request.model,
    signal,
    log,
    (model, fingerprint) => prepare(gateway, model, fingerprint, request),
    async ({ prepared, result }) => {
      for (const choice of result.choices) {
        await open(prepared, choice.index);
        const reader = readers.get(choice.index);
        for (const event of visible(prepared, reader?.finish() ?? [])) await send(chunk(prepared, { index: choice.index, delta: deltaOf(event), logprobs: null, finish_reason: null }));
        const called = reader !== undefined && reader.calls.length > 0;
        await send(chunk(prepared, { index: choice.index, delta: {}, logprobs: null, finish_reason: called ? finishWithCalls(choice.outcome.finishReason) : choice.outcome.finishReason }));
      }
      if (includeUsage) await send({ ...base(prepared), choices: [], usage: usage(result) });
    },
    (prepared) => ({
      onDelta: async (index, text, tokens) => {
        if (text.length === 0 && tokens.length === 0) return;
        await open(prepared, index);
        const logprobs = request.logprobs === true ? { content: chatLogprobs(prepared.model, tokens) } : null;
        if (!prepared.tools.readsCalls) {
          await send(chunk(prepared, { index, delta: { content: text }, logprobs, finish_reason: null }));
          return;
        }
        let reader = readers.get(index);
        if (reader === undefined) readers.set(index, (reader = new ToolCallReader(prepared.tools.syntax)));
        const events = visible(prepared, reader.push(text));
        // Held-back text (a possible call opening) sends nothing yet, but its tokens' logprobs go now.
        if (events.length === 0 && logprobs !== null) await send(chunk(prepared, { index, delta: {}, logprobs, finish_reason: null }));
        for (const [i, event] of events.entries()) await send(chunk(prepared, { index, delta: deltaOf(event), logprobs: i === 0 ? logprobs : null, finish_reason: null }));
      },
    }),
  );
}

/** Whether the turn must be calls (tool_choice "required" or a named function), decoded under their grammar. */
function isForced(prepared: PreparedChat): boolean {
  return prepared.tools.grammar !== undefined;
}

/**
 * A forced turn has no content: whatever the reader could not read as a call is the call
 * syntax of a turn max_tokens cut short (`<tool_call>{"n`), not text for the user.
 */
function visible(prepared: PreparedChat, events: ToolEvent[]): ToolEvent[] {
  return isForced(prepared) ? events.filter((event) => event.kind !== "content") : events;
}

/** A turn that made calls finishes with "tool_calls" (a cut one still says "length"). */
function finishWithCalls(reason: FinishReason): FinishReason | "tool_calls" {
  return reason === "stop" ? "tool_calls" : reason;
}

function deltaOf(event: ToolEvent): ChatChunkChoice["delta"] {
  return event.kind === "content" ? { content: event.text } : { tool_calls: [event.delta] };
}

async function prepare(gateway: Gateway, model: ServedModel, fingerprint: string, request: ChatRequest): Promise<PreparedChat> {
  if (request.top_logprobs != null && request.logprobs !== true) throw invalidRequest("top_logprobs requires logprobs to be true.", "top_logprobs");
  if (request.top_logprobs != null && request.top_logprobs > 5) throw invalidRequest("top_logprobs above 5 is not supported.", "top_logprobs");
  const messages = request.messages.map(toTemplateMessage);
  // The rendered prompt holds these texts, so their total bounds it from below.
  const texts = renderedTexts(messages, request.tools);
  checkPromptTexts(model, [texts.messages + texts.tools], request.n ?? 1, texts.tools.length > texts.messages.length ? "tools" : "messages");
  const tools = await prepareTools(model, request);
  if (tools.grammar !== undefined && (request.grammar != null || (request.response_format != null && request.response_format.type !== "text"))) {
    throw invalidRequest("tool_choice requires calls, which a grammar or JSON response_format would contradict; send one of them.", "tool_choice");
  }
  const rendered = model.chatRenderer.render(messages, tools.definitions);
  const planned = buildPlan(request, {
    model,
    prompts: [rendered.tokens],
    promptParam: "messages",
    maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
    // A metric-aware answer is a short text sampled many times; the rest of the context is not.
    defaultMaxTokens: request.metric_aware == null ? "rest" : 16,
    samplesPerPrompt: request.n ?? 1,
    logprobs: request.logprobs === true ? (request.top_logprobs ?? 0) : null,
    scorePrompt: false,
    extraStops: rendered.stops,
    tokenBudget: gateway.config.maxTokensBudget,
  });
  const grammar = tools.grammar ?? (await requestGrammar(model, request));
  const plan = grammar === undefined ? planned : { ...planned, grammar };
  const metricAware = request.metric_aware == null ? undefined : buildMetricAwarePlan(request.metric_aware, request, plan, model, metricAwareLimits(gateway));
  return { model, plan, ...(metricAware === undefined ? {} : { metricAware }), id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), fingerprint, tools };
}

/**
 * What every chat template renders of a request: message contents, the calls' names and
 * arguments, and each tool's name, description and parameter schema.
 */
function renderedTexts(messages: readonly TemplateMessage[], tools: ChatRequest["tools"]): { messages: string; tools: string } {
  return {
    messages: messages.flatMap((message) => [message.content, ...(message.toolCalls ?? []).flatMap((call) => [call.name, call.arguments])]).join(""),
    tools: (tools ?? []).flatMap((tool) => [tool.function.name, tool.function.description ?? "", JSON.stringify(tool.function.parameters ?? {})]).join(""),
  };
}

function toTemplateMessage(message: ChatMessage): TemplateMessage {
  const role = message.role === "developer" ? "system" : message.role;
  const content = message.content ?? "";
  const text = typeof content === "string" ? content : content.map((part) => part.text).join("");
  if (message.role !== "assistant" || message.tool_calls == null) return { role, content: text };
  return { role, content: text, toolCalls: message.tool_calls.map((call) => ({ name: call.function.name, arguments: call.function.arguments })) };
}
