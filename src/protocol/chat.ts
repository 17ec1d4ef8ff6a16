import { z } from "zod";
import type { MetricAwareEvidence } from "./metric-aware.ts";
import { samplingFields, type FinishReason, type Usage } from "./sampling-fields.ts";
import { grammarField, responseFormatField } from "./structured.ts";
import { toolCallSchema, toolChoiceField, toolsField, type ToolCall, type ToolCallDelta } from "./tools.ts";

const textPart = z.strictObject({ type: z.literal("text"), text: z.string() });

const content = z.union([z.string(), z.array(textPart)]);

const message = z.discriminatedUnion("role", [
  z.strictObject({ role: z.literal("system"), content, name: z.string().nullish() }),
  z.strictObject({ role: z.literal("developer"), content, name: z.string().nullish() }),
  z.strictObject({ role: z.literal("user"), content, name: z.string().nullish() }),
  z.strictObject({ role: z.literal("assistant"), content: content.nullish(), name: z.string().nullish(), tool_calls: z.array(toolCallSchema).nullish(), refusal: z.string().nullish() }),
  z.strictObject({ role: z.literal("tool"), content, tool_call_id: z.string().min(1) }),
]);

export const chatRequestSchema = z.strictObject({
  ...samplingFields,
  messages: z.array(message).min(1),
  max_completion_tokens: z.number().int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  response_format: responseFormatField,
  grammar: grammarField,
  tools: toolsField,
  tool_choice: toolChoiceField,
  parallel_tool_calls: z.boolean().nullish(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;
export type ChatMessage = z.infer<typeof message>;

export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

export interface ChatLogprobs {
  content: ChatTokenLogprob[];
}

export interface ChatChoice {
  index: number;
  message: { role: "assistant"; content: string | null; tool_calls?: ToolCall[] };
  logprobs: ChatLogprobs | null;
  finish_reason: FinishReason | "tool_calls";
  /** Extension: with metric_aware, what the decision rests on. */
  metric_aware?: MetricAwareEvidence;
}

export interface ChatResponse {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: ChatChoice[];
  usage: Usage;
}

export interface ChatChunkChoice {
  index: number;
  delta: { role?: "assistant"; content?: string; tool_calls?: ToolCallDelta[] };
  logprobs: ChatLogprobs | null;
  finish_reason: FinishReason | "tool_calls" | null;
}

export interface ChatChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: ChatChunkChoice[];
  usage?: Usage | null;
}
