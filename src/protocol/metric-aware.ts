import { z } from "zod";

/**
 * Extension on /v1/completions and /v1/chat/completions: answer with the Bayes decision for the
 * metric the client will score with, under the model's own law (kernels/metric). Checks that
 * need the server's limits or the model (sample and candidate caps, candidates that parse) are
 * the service's (src/service/metric-plan.ts).
 */
export const metricAwareSchema = z.strictObject({
  metric: z.enum(["squared_error", "absolute_error", "exact_match", "pinball"]),
  /** Pinball loss's level tau; only with metric "pinball". */
  quantile: z.number().gt(0).lt(1).nullish(),
  /** Monte Carlo samples (default 16, at most METRIC_AWARE_MAX_SAMPLES); not with candidates. */
  samples: z.number().int().min(1).nullish(),
  /** The estimator's temperature (default 1: the model's own law); replaces the request's. */
  temperature: z.number().gt(0).max(2).nullish(),
  /** The answer set: grid scoring instead of sampling. */
  candidates: z
    .union([
      z.array(z.string().min(1)).min(1),
      z.strictObject({ from: z.number(), to: z.number(), step: z.number().gt(0), prefix: z.string().nullish() }),
    ])
    .nullish(),
  /** How a text becomes an answer (default "number"; labels only with exact_match). */
  parse: z.union([z.enum(["number", "integer"]), z.strictObject({ labels: z.array(z.string().min(1)).min(1) })]).nullish(),
});

export type MetricAwareRequest = z.infer<typeof metricAwareSchema>;

/** What the choice's decision rests on (the choice's `metric_aware` field). */
export interface MetricAwareEvidence {
  estimator: "monte_carlo" | "grid" | "greedy_fallback";
  metric: MetricAwareRequest["metric"];
  quantile?: number;
  /** The parsed answers with their probabilities under the estimator's law, most probable first. */
  values: { value: number | string; probability: number }[];
  /** Monte Carlo: samples drawn; grid: candidates scored. */
  samples: number;
  /** Monte Carlo samples whose text did not parse (left out of `values`). */
  unparsable: number;
  /** E[metric(y, decision)] under `values`; null when nothing parsed. */
  expected_loss: number | null;
  /** Grid scoring: the probability mass the model puts on the candidate set before renormalizing. */
  candidate_mass?: number;
}
