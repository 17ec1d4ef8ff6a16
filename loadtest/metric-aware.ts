/**
 * `VUS` (4) clients back to back for `DURATION` (1m) on `metric_aware` requests, rotating three
 * kinds (tag `kind`; each must run): `grid` (completions scoring the digits 0-9), `monte_carlo`
 * (completions, `SAMPLES` (4) samples of 3 tokens parsed as integers), both going through
 * squared_error, absolute_error, exact_match and pinball 0.9 in turn, and `chat_grid` (chat, a
 * rating " 1" to " 5", absolute_error). Each answer's evidence must be there and agree with
 * itself: values most probable first with probabilities summing to 1 (Monte Carlo: multiples of
 * 1/parsed samples), the answer text the metric's Bayes decision over those values, and
 * expected_loss that decision's expected loss. A greedy fallback (nothing parsed) must say so.
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/metric-aware.ts
 */
import { check } from "k6";
import http from "k6/http";
import type { Options } from "k6/options";
import { baseUrl, explain, headers, model } from "./config.ts";

const samples = Number(__ENV.SAMPLES ?? 4);

/** Each client starts on another kind (__VU counts from 1), so even a short run has them all. */
const kinds = ["grid", "monte_carlo", "chat_grid"] as const;

export const options: Options = {
  scenarios: {
    metric: { executor: "constant-vus", vus: Number(__ENV.VUS ?? 4), duration: __ENV.DURATION ?? "1m" },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
    ...Object.fromEntries(kinds.map((kind) => [`http_reqs{kind:${kind}}`, ["count>0"]])),
  },
};

type Metric = "squared_error" | "absolute_error" | "exact_match" | "pinball";

interface Evidence {
  estimator: string;
  metric: string;
  quantile?: number;
  values: { value: number; probability: number }[];
  samples: number;
  unparsable: number;
  expected_loss: number | null;
  candidate_mass?: number;
}

const tau = 0.9;
const metrics: Metric[] = ["squared_error", "absolute_error", "exact_match", "pinball"];
const numberPrompts = ["It was in 18", "The number of states was", "In the year 17", "He counted to"];

function loss(metric: Metric, truth: number, answer: number): number {
  if (metric === "squared_error") return (truth - answer) ** 2;
  if (metric === "absolute_error") return Math.abs(truth - answer);
  if (metric === "exact_match") return truth === answer ? 0 : 1;
  return truth >= answer ? tau * (truth - answer) : (1 - tau) * (answer - truth);
}

/** The Bayes decision docs/metric-aware.md promises: mean, lower median, mode, lower tau-quantile. */
function decision(metric: Metric, values: Evidence["values"]): number {
  if (metric === "squared_error") return values.reduce((sum, { value, probability }) => sum + value * probability, 0);
  if (metric === "exact_match") return values[0]!.value;
  const level = metric === "pinball" ? tau : 0.5;
  const sorted = values.filter(({ probability }) => probability > 0).sort((a, b) => a.value - b.value);
  let cumulative = 0;
  for (const { value, probability } of sorted) {
    cumulative += probability;
    if (cumulative >= level - 1e-12) return value;
  }
  return sorted[sorted.length - 1]!.value;
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** What is wrong with a choice's evidence and answer (undefined: nothing). */
function evidenceProblem(metric: Metric, estimator: string, expectedSamples: number, text: string, evidence: Evidence | undefined): string | undefined {
  if (evidence === undefined) return "no metric_aware evidence";
  if (evidence.metric !== metric || (metric === "pinball") !== (evidence.quantile === tau)) return `metric ${evidence.metric} / quantile ${evidence.quantile}`;
  if (evidence.samples !== expectedSamples) return `samples ${evidence.samples}, asked ${expectedSamples}`;
  if (evidence.estimator === "greedy_fallback") {
    return estimator === "monte_carlo" && evidence.values.length === 0 && evidence.expected_loss === null && evidence.unparsable === evidence.samples ? undefined : "a greedy fallback with values";
  }
  if (evidence.estimator !== estimator) return `estimator ${evidence.estimator}, expected ${estimator}`;
  const { values } = evidence;
  if (values.length === 0 || values.some(({ value, probability }) => typeof value !== "number" || !(probability >= 0 && probability <= 1))) return "values missing or out of range";
  if (values.some((entry, i) => i > 0 && entry.probability > values[i - 1]!.probability)) return "values not most probable first";
  if (!close(values.reduce((sum, { probability }) => sum + probability, 0), 1)) return "probabilities do not sum to 1";
  if (estimator === "grid") {
    if (values.length !== expectedSamples) return `${values.length} values for ${expectedSamples} candidates`;
    if (!(evidence.candidate_mass !== undefined && evidence.candidate_mass > 0 && evidence.candidate_mass <= 1 + 1e-9)) return `candidate_mass ${evidence.candidate_mass}`;
  } else {
    const parsed = evidence.samples - evidence.unparsable;
    if (!(evidence.unparsable >= 0 && parsed > 0 && values.length <= parsed)) return `unparsable ${evidence.unparsable} of ${evidence.samples} with ${values.length} values`;
    if (values.some(({ probability }) => !close(probability * parsed, Math.round(probability * parsed)))) return "a probability that is not a share of the parsed samples";
  }
  const decided = decision(metric, values);
  if (!close(Number(text), decided)) return `answer ${JSON.stringify(text)}, decision ${decided}`;
  const expected = values.reduce((sum, { value, probability }) => sum + probability * loss(metric, value, decided), 0);
  if (evidence.expected_loss === null || !close(evidence.expected_loss, expected)) return `expected_loss ${evidence.expected_loss}, recomputed ${expected}`;
  return undefined;
}

export default function (): void {
  const kind = kinds[(__VU + __ITER) % kinds.length]!;
  const prompt = numberPrompts[(__VU + __ITER) % numberPrompts.length]!;
  // Both estimators go through the four metrics in turn; the chat rating is absolute error.
  const turn = __VU + __ITER;
  const metric: Metric = kind === "chat_grid" ? "absolute_error" : metrics[(kind === "grid" ? turn / 3 : turn) % metrics.length]!;
  const withQuantile = metric === "pinball" ? { quantile: tau } : {};
  const request =
    kind === "grid"
      ? { prompt, metric_aware: { metric, ...withQuantile, candidates: { from: 0, to: 9, step: 1 } } }
      : kind === "monte_carlo"
        ? { prompt, max_tokens: 3, metric_aware: { metric, ...withQuantile, samples, parse: "integer" } }
        : { messages: [{ role: "user", content: `Rate "${prompt}" from 1 to 5.` }], metric_aware: { metric, candidates: [" 1", " 2", " 3", " 4", " 5"] } };
  const path = kind === "chat_grid" ? "chat/completions" : "completions";
  const response = http.post(`${baseUrl}/v1/${path}`, JSON.stringify({ model, ...request }), { headers: headers(), tags: { kind } });
  const choice = response.status === 200 ? (response.json("choices.0") as { text?: string; message?: { content: string }; metric_aware?: Evidence } | null) : null;
  const text = choice?.text ?? choice?.message?.content ?? "";
  const estimator = kind === "monte_carlo" ? "monte_carlo" : "grid";
  const problem = choice == null ? "no choice" : evidenceProblem(metric, estimator, kind === "monte_carlo" ? samples : kind === "grid" ? 10 : 5, text, choice.metric_aware);
  explain(`${kind} ${metric}`, response, problem);
  check(response, {
    "200": (r) => r.status === 200,
    "one choice": (r) => r.status === 200 && (r.json("choices") as unknown[]).length === 1,
    "metric_aware evidence consistent with the answer": () => problem === undefined,
  });
}
