import { z } from "zod";
import { metricAwareSchema } from "./metric-aware.ts";

/** Fields shared by /v1/completions and /v1/chat/completions (OpenAI's plus the common extras). */
export const stopField = z.union([z.string(), z.array(z.string()).max(4)]).nullish();

export const samplingFields = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  n: z.number().int().min(1).max(128).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().nullish() }).nullish(),
  stop: stopField,
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: z.record(z.string().regex(/^\d+$/, "logit_bias keys must be token ids"), z.number().min(-100).max(100)).nullish(),
  user: z.string().nullish(),
  seed: z.number().int().nullish(),
  top_k: z.number().int().min(-1).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repetition_penalty: z.number().gt(0).max(10).nullish(),
  ignore_eos: z.boolean().nullish(),
  stop_token_ids: z.array(z.number().int().min(0)).max(64).nullish(),
  /** Extension: speculative decoding for this request ("auto" by default; see openapi.yaml). */
  speculation: z.union([z.enum(["auto", "off"]), z.strictObject({ k: z.number().int().min(1).max(8), l: z.number().int().min(0).max(16) })]).nullish(),
  /** Extension: answer with the Bayes decision for a metric (see protocol/metric-aware.ts). */
  metric_aware: metricAwareSchema.nullish(),
};

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Extension: speculative decoding figures, summed over the request's choices; absent when speculation was off for the request. */
  spec_decode?: SpecDecodeUsage;
}

export interface SpecDecodeUsage {
  /** Draft continuations proposed (K per speculative block). */
  num_drafts: number;
  num_draft_tokens: number;
  /** Generated tokens a draft had proposed. */
  num_accepted_tokens: number;
  /** Serial target-model rounds (one per block); plain decoding makes one per token. */
  num_target_calls: number;
}

export type FinishReason = "stop" | "length";
