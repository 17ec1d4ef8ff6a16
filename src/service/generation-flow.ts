import { runGeneration, type GenerationListener, type GenerationPlan, type GenerationResult } from "../engine/generation.ts";
import { runMetricAware, type MetricAwarePlan } from "../engine/metric-aware.ts";
import type { ServedModel } from "../engine/served-model.ts";
import type { RequestLog } from "../logging/request-log.ts";
import type { Usage } from "../protocol/sampling-fields.ts";
import type { Gateway } from "./gateway.ts";

/** Where a streaming handler sends each chunk; [DONE] is the route's. */
export type ChunkSink = (payload: unknown) => Promise<void>;

/** What an endpoint makes of a request for one model: at least the plan to run. */
export interface Prepared {
  plan: GenerationPlan;
  /** The metric_aware extension: the plan's prompts answered with a Bayes decision each. */
  metricAware?: MetricAwarePlan;
}

export interface Generated<P extends Prepared> {
  model: ServedModel;
  /** system_fingerprint for every response and chunk. */
  fingerprint: string;
  prepared: P;
  result: GenerationResult;
}

/**
 * The flow every generation endpoint shares: hold the requested model (or adapter version)
 * for the whole request, prepare the plan against it, run it (streaming through `listen`'s
 * listener when given), log the figures, and answer with `respond`.
 */
export async function generate<P extends Prepared, R>(
  gateway: Gateway,
  modelId: string,
  signal: AbortSignal,
  log: RequestLog,
  prepare: (model: ServedModel, fingerprint: string) => P | Promise<P>,
  respond: (generated: Generated<P>) => R | Promise<R>,
  listen?: (prepared: P) => GenerationListener,
): Promise<R> {
  using hold = gateway.acquire(modelId);
  const prepared = await prepare(hold.model, hold.fingerprint);
  log.set({ model: hold.model.id });
  const result = prepared.metricAware === undefined
    ? await runGeneration(gateway, hold.model, prepared.plan, signal, log.arrivedAt, listen?.(prepared))
    : await runMetricAware(gateway, hold.model, prepared.plan, prepared.metricAware, signal, log.arrivedAt);
  record(log, result);
  return respond({ model: hold.model, fingerprint: hold.fingerprint, prepared, result });
}

export function usage(result: GenerationResult): Usage {
  const tokens = { prompt_tokens: result.promptTokens, completion_tokens: result.completionTokens, total_tokens: result.promptTokens + result.completionTokens };
  return result.speculation === null ? tokens : { ...tokens, spec_decode: result.speculation };
}

function record(log: RequestLog, result: GenerationResult): void {
  log.set({
    prompt_tokens: result.promptTokens,
    completion_tokens: result.completionTokens,
    queue_ms: Math.round(result.timings.queueMs * 100) / 100,
    ...(result.timings.ttftMs === null ? {} : { ttft_ms: Math.round(result.timings.ttftMs * 100) / 100 }),
    ...(result.speculation === null ? {} : { spec_decode: result.speculation }),
  });
}
