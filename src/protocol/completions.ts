import { z } from "zod";
import type { MetricAwareEvidence } from "./metric-aware.ts";
import { samplingFields, type FinishReason, type Usage } from "./sampling-fields.ts";
import { grammarField } from "./structured.ts";

const tokenArray = z.array(z.number().int().min(0));

export const completionRequestSchema = z.strictObject({
  ...samplingFields,
  prompt: z.union([z.string(), z.array(z.string()).min(1), tokenArray.min(1), z.array(tokenArray.min(1)).min(1)]),
  // 0 is allowed with echo: it scores the prompt without generating.
  max_tokens: z.number().int().min(0).nullish(),
  suffix: z.string().nullish(),
  logprobs: z.number().int().min(0).max(5).nullish(),
  echo: z.boolean().nullish(),
  best_of: z.number().int().min(1).max(128).nullish(),
  grammar: grammarField,
});

export type CompletionRequest = z.infer<typeof completionRequestSchema>;

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

export interface CompletionChoice {
  text: string;
  index: number;
  logprobs: CompletionLogprobs | null;
  finish_reason: FinishReason | null;
  /** Extension: with metric_aware, what the decision rests on. */
  metric_aware?: MetricAwareEvidence;
}

export interface CompletionResponse {
  id: string;
  object: "text_completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: CompletionChoice[];
  usage?: Usage | null;
}
