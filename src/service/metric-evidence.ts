import type { GeneratedChoice } from "../engine/generation.ts";
import type { MetricAwarePlan, MetricChoice } from "../engine/metric-aware.ts";
import type { MetricAwareEvidence } from "../protocol/metric-aware.ts";

/** A choice's `metric_aware` field in the wire shape: present on metric-aware choices only. */
export function metricAwareField(choice: GeneratedChoice, plan: MetricAwarePlan | undefined): { metric_aware?: MetricAwareEvidence } {
  if (plan === undefined || !("evidence" in choice)) return {};
  const { evidence } = choice as MetricChoice;
  return {
    metric_aware: {
      estimator: evidence.estimator,
      metric: plan.metric.kind,
      ...(plan.metric.kind === "pinball" ? { quantile: plan.metric.quantile } : {}),
      values: evidence.values.map(({ value, probability }) => ({ value, probability })),
      samples: evidence.samples,
      unparsable: evidence.unparsable,
      expected_loss: evidence.expectedLoss,
      ...(evidence.candidateMass === undefined ? {} : { candidate_mass: evidence.candidateMass }),
    },
  };
}
