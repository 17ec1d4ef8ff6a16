import { candidateSet, CandidateError, rangeTexts } from "../../kernels/metric/candidates.ts";
import type { Metric } from "../../kernels/metric/metrics.ts";
import type { Parser } from "../../kernels/metric/parsers.ts";
import type { GenerationPlan } from "../engine/generation.ts";
import type { GridCandidate, MetricAwarePlan, MetricEstimator } from "../engine/metric-aware.ts";
import type { ServedModel } from "../engine/served-model.ts";
import { contextLengthExceeded, invalidRequest } from "../protocol/errors.ts";
import type { MetricAwareRequest } from "../protocol/metric-aware.ts";
import type { Gateway } from "./gateway.ts";

/** Monte Carlo samples when the request names none. */
export const defaultSamples = 16;

export interface MetricAwareLimits {
  maxSamples: number;
  maxCandidates: number;
  /** MAX_TOKENS_BUDGET: samples x max_tokens per prompt must stay within it too. */
  tokenBudget: number;
}

/** The request fields metric_aware cannot be combined with, as each endpoint has them. */
export interface MetricAwareCompanions {
  stream?: boolean | null;
  n?: number | null;
  best_of?: number | null;
  /** Completions: a number; chat: a boolean. */
  logprobs?: number | boolean | null;
  echo?: boolean | null;
  /** Chat: tool definitions (a metric-aware answer is a value, never a call). */
  tools?: readonly unknown[] | null;
}

export function metricAwareLimits(gateway: Gateway): MetricAwareLimits {
  return { ...gateway.config.metricAware, tokenBudget: gateway.config.maxTokensBudget };
}

const param = (field: string): string => `metric_aware.${field}`;

/**
 * Checks `metric_aware` against the rest of the request, the server's limits and the model, and
 * turns it into the engine's plan; a 400 names the field. The decision is one text known only
 * once every sample (or candidate) is in, so it is not streamed, there is one choice per prompt
 * and it has no token logprobs.
 */
export function buildMetricAwarePlan(request: MetricAwareRequest, companions: MetricAwareCompanions, plan: GenerationPlan, model: ServedModel, limits: MetricAwareLimits): MetricAwarePlan {
  if (companions.stream === true) throw invalidRequest("metric_aware cannot be used with stream: the decision is known only once every sample is in.", "stream");
  if ((companions.n ?? 1) > 1) throw invalidRequest("metric_aware answers one decision per prompt; n must be 1 (use metric_aware.samples for the number of samples).", "n");
  if ((companions.best_of ?? 1) > 1) throw invalidRequest("metric_aware cannot be used with best_of.", "best_of");
  if (companions.logprobs != null && companions.logprobs !== false) throw invalidRequest("metric_aware's answer is a decision, not decoded tokens: it has no logprobs.", "logprobs");
  if (companions.echo === true) throw invalidRequest("metric_aware cannot be used with echo.", "echo");
  if ((companions.tools?.length ?? 0) > 0) throw invalidRequest("metric_aware answers with a value, never a tool call; send tools or metric_aware.", "tools");
  const metric = metricOf(request);
  const parser = parserOf(request, metric);
  return { metric, parser, estimator: estimatorOf(request, parser, plan, model, limits), temperature: request.temperature ?? 1 };
}

function metricOf(request: MetricAwareRequest): Metric {
  if (request.metric === "pinball") {
    if (request.quantile == null) throw invalidRequest("metric pinball needs metric_aware.quantile, the level in (0, 1).", param("quantile"));
    return { kind: "pinball", quantile: request.quantile };
  }
  if (request.quantile != null) throw invalidRequest(`metric_aware.quantile applies to metric pinball only, not ${request.metric}.`, param("quantile"));
  return { kind: request.metric };
}

function parserOf(request: MetricAwareRequest, metric: Metric): Parser {
  const parse = request.parse ?? "number";
  if (typeof parse === "string") return { kind: parse };
  if (metric.kind !== "exact_match") throw invalidRequest(`Labels have no distance between them: metric ${metric.kind} needs parse "number" or "integer"; labels go with exact_match.`, param("parse"));
  return { kind: "labels", labels: parse.labels };
}

function estimatorOf(request: MetricAwareRequest, parser: Parser, plan: GenerationPlan, model: ServedModel, limits: MetricAwareLimits): MetricEstimator {
  if (request.candidates == null) {
    const samples = request.samples ?? Math.min(defaultSamples, limits.maxSamples);
    if (samples > limits.maxSamples) throw invalidRequest(`metric_aware.samples is ${samples}; this server allows at most ${limits.maxSamples} (METRIC_AWARE_MAX_SAMPLES).`, param("samples"));
    if (samples * plan.maxTokens > limits.tokenBudget) {
      throw invalidRequest(`metric_aware.samples x max_tokens (${samples} x ${plan.maxTokens}) exceeds this server's budget of ${limits.tokenBudget} tokens per prompt.`, param("samples"), "token_budget_exceeded");
    }
    return { kind: "monte_carlo", samples };
  }
  if (request.samples != null) throw invalidRequest("metric_aware.samples applies to Monte Carlo; with candidates every candidate is scored exactly.", param("samples"));
  // Monte Carlo samples follow a grammar (it makes them parse); grid scoring reads the candidates' law without one.
  if (plan.grammar !== undefined) throw invalidRequest("metric_aware.candidates are the answer set; they cannot be combined with response_format or grammar (Monte Carlo can).", param("candidates"));
  return { kind: "grid", candidates: gridCandidates(request.candidates, parser, plan, model, limits.maxCandidates) };
}

function gridCandidates(candidates: NonNullable<MetricAwareRequest["candidates"]>, parser: Parser, plan: GenerationPlan, model: ServedModel, limit: number): GridCandidate[] {
  let texts: string[];
  try {
    if (Array.isArray(candidates)) {
      if (candidates.length > limit) throw new CandidateError(`${candidates.length} candidates, more than ${limit} (METRIC_AWARE_MAX_CANDIDATES)`);
      texts = candidates;
    } else {
      if (parser.kind === "labels") throw new CandidateError("a numeric range cannot be parsed as labels");
      texts = rangeTexts(candidates, candidates.prefix ?? "", limit);
    }
    const parsed = candidateSet(texts, parser);
    const longestPrompt = Math.max(...plan.prompts.map((prompt) => prompt.length));
    return parsed.map(({ text, answer }) => {
      const tokens = model.tokenize(text);
      if (tokens.length === 0) throw new CandidateError(`candidate ${JSON.stringify(text)} has no tokens`);
      if (longestPrompt + tokens.length > model.contextSize) {
        throw contextLengthExceeded(`This model's maximum context length is ${model.contextSize} tokens; the prompt (${longestPrompt}) and candidate ${JSON.stringify(text)} (${tokens.length}) exceed it.`, param("candidates"));
      }
      return { text, answer, tokens };
    });
  } catch (error) {
    if (error instanceof CandidateError || error instanceof RangeError) throw invalidRequest(`Invalid metric_aware.candidates: ${error.message}.`, param("candidates"));
    throw error;
  }
}
