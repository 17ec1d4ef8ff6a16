/**
 * Metric-aware generation: instead of one decoded text, the Bayes decision for the client's
 * metric under the model's law (shared/papers/metric-aware.md), estimated by Monte Carlo (N
 * samples, parallel sequences sharing one prompt evaluation) or by grid scoring over the
 * candidates (grid-scoring.ts). The decision rules and parsers are kernels/metric's; this module
 * runs the estimators on the model and reports every token they evaluated.
 */
import { normalize, type Weighted } from "../../kernels/metric/distribution.ts";
import { decide, type Answer, type Metric } from "../../kernels/metric/metrics.ts";
import { formatNumber, parse, type Parser } from "../../kernels/metric/parsers.ts";
import type { SpecDecodeUsage } from "../protocol/sampling-fields.ts";
import { runGeneration, type GeneratedChoice, type GenerationPlan, type GenerationResult, type GenerationServices } from "./generation.ts";
import { scoreCandidates } from "./grid-scoring.ts";
import type { ServedModel } from "./served-model.ts";

export interface GridCandidate {
  readonly text: string;
  readonly answer: Answer;
  /** The candidate's text tokenized on its own, appended to the prompt's tokens. */
  readonly tokens: readonly number[];
}

export type MetricEstimator = { readonly kind: "monte_carlo"; readonly samples: number } | { readonly kind: "grid"; readonly candidates: readonly GridCandidate[] };

export interface MetricAwarePlan {
  readonly metric: Metric;
  readonly parser: Parser;
  readonly estimator: MetricEstimator;
  /** The estimator's temperature (> 0); every other sampling field is the request's. */
  readonly temperature: number;
}

/** What a decision rests on, per prompt. */
export interface MetricEvidence {
  readonly estimator: "monte_carlo" | "grid" | "greedy_fallback";
  /** Distinct answers with their probabilities, most probable first. */
  readonly values: readonly { value: Answer; probability: number }[];
  readonly samples: number;
  readonly unparsable: number;
  readonly expectedLoss: number | null;
  /** Grid: the law's mass on the candidate set, before renormalizing. */
  readonly candidateMass?: number;
}

export interface MetricChoice extends GeneratedChoice {
  readonly evidence: MetricEvidence;
}

export interface MetricGenerationResult extends GenerationResult {
  choices: MetricChoice[];
}

/** Tokens and figures of the runs behind one prompt's decision. */
interface Spent {
  promptTokens: number;
  completionTokens: number;
  queueMs: number;
  speculation: SpecDecodeUsage | null;
}

/** Runs `metricAware` for every prompt of `plan` (one after another), one choice per prompt. */
export async function runMetricAware(
  services: GenerationServices,
  model: ServedModel,
  plan: GenerationPlan,
  metricAware: MetricAwarePlan,
  signal: AbortSignal,
  arrived: number,
): Promise<MetricGenerationResult> {
  const choices: MetricChoice[] = [];
  const spent: Spent = { promptTokens: 0, completionTokens: 0, queueMs: 0, speculation: null };
  for (const [promptIndex, prompt] of plan.prompts.entries()) {
    const onePrompt: GenerationPlan = { ...plan, prompts: [prompt], samplesPerPrompt: 1, n: 1, logprobs: null, scorePrompt: false };
    const estimate = metricAware.estimator.kind === "grid"
      ? await gridEstimate(services, model, onePrompt, metricAware, metricAware.estimator.candidates, signal, spent)
      : await monteCarloEstimate(services, model, onePrompt, metricAware, metricAware.estimator.samples, signal, arrived, spent);
    const decided = estimate.belief.length === 0 ? await greedyFallback(services, model, onePrompt, signal, arrived, spent) : decideText(metricAware.metric, estimate.belief);
    choices.push({
      index: promptIndex,
      promptIndex,
      text: decided.text,
      tokens: [],
      promptScores: null,
      outcome: { finishReason: "stop", completionTokens: 0, logprobSum: 0 },
      evidence: {
        estimator: estimate.belief.length === 0 ? "greedy_fallback" : metricAware.estimator.kind,
        values: [...estimate.belief].sort((a, b) => b.weight - a.weight).map(({ value, weight }) => ({ value, probability: weight })),
        samples: estimate.samples,
        unparsable: estimate.unparsable,
        expectedLoss: decided.expectedLoss,
        ...(estimate.candidateMass === undefined ? {} : { candidateMass: estimate.candidateMass }),
      },
    });
  }
  return {
    choices,
    promptTokens: spent.promptTokens,
    completionTokens: spent.completionTokens,
    timings: { queueMs: spent.queueMs, ttftMs: null },
    speculation: spent.speculation,
  };
}

interface Estimate {
  /** Empty when nothing parsed (or the law put no mass on any candidate). */
  belief: readonly Weighted<Answer>[];
  samples: number;
  unparsable: number;
  candidateMass?: number;
}

/**
 * N samples under the estimator's law, parsed. They run as parallel sequences of one prompt
 * evaluation, in waves of at most the pool's size (each wave evaluates the prompt again, and
 * `usage` counts it); waves of a seeded request get distinct seeds.
 */
async function monteCarloEstimate(
  services: GenerationServices,
  model: ServedModel,
  plan: GenerationPlan,
  metricAware: MetricAwarePlan,
  samples: number,
  signal: AbortSignal,
  arrived: number,
  spent: Spent,
): Promise<Estimate> {
  const answers: Answer[] = [];
  let unparsable = 0;
  for (let wave = 0, drawn = 0; drawn < samples; wave++) {
    const count = Math.min(samples - drawn, model.pool.size);
    const seed = plan.sampling.seed === undefined ? undefined : (Math.imul(plan.sampling.seed | 0, 0x2545f491) ^ Math.imul(wave + 1, 0x9e3779b1)) >>> 0;
    const result = await runGeneration(services, model, {
      ...plan,
      samplesPerPrompt: count,
      n: count,
      sampling: { ...plan.sampling, temperature: metricAware.temperature, seed },
    }, signal, arrived);
    addSpent(spent, result);
    for (const choice of result.choices) {
      const answer = parse(metricAware.parser, choice.text);
      if (answer === null) unparsable++;
      else answers.push(answer);
    }
    drawn += count;
  }
  const belief = answers.length === 0 ? [] : normalize(answers.map((value) => ({ value, weight: 1 })));
  return { belief, samples, unparsable };
}

/** The candidates' probabilities under the estimator's law, on one leased sequence. */
async function gridEstimate(
  services: GenerationServices,
  model: ServedModel,
  plan: GenerationPlan,
  metricAware: MetricAwarePlan,
  candidates: readonly GridCandidate[],
  clientSignal: AbortSignal,
  spent: Spent,
): Promise<Estimate> {
  const prompt = plan.prompts[0]!;
  const labels = { model_name: model.id };
  const scores = await services.scheduler.run(model.pool, 1, clientSignal, async (lease) => {
    services.metrics.queueTime.observe(labels, lease.queuedSeconds);
    services.metrics.promptTokens.inc(labels, prompt.length);
    spent.queueMs += lease.queuedSeconds * 1000;
    const sampling = { ...plan.sampling, temperature: metricAware.temperature };
    return scoreCandidates(lease.items[0]!, prompt, candidates.map(({ tokens }) => tokens), sampling, lease.signal);
  });
  services.metrics.generationTokens.inc(labels, scores.evaluatedTokens);
  spent.promptTokens += prompt.length;
  spent.completionTokens += scores.evaluatedTokens;
  const candidateMass = scores.mass.reduce((sum, mass) => sum + mass, 0);
  const belief = candidateMass > 0 ? normalize(candidates.map(({ answer }, i) => ({ value: answer, weight: scores.mass[i]! }))) : [];
  return { belief, samples: candidates.length, unparsable: 0, candidateMass };
}

/** Nothing to decide from: the request decoded greedily, as plain decoding would answer. */
async function greedyFallback(services: GenerationServices, model: ServedModel, plan: GenerationPlan, signal: AbortSignal, arrived: number, spent: Spent): Promise<{ text: string; expectedLoss: null }> {
  const result = await runGeneration(services, model, { ...plan, sampling: { ...plan.sampling, temperature: 0 } }, signal, arrived);
  addSpent(spent, result);
  return { text: result.choices[0]!.text, expectedLoss: null };
}

function decideText(metric: Metric, belief: readonly Weighted<Answer>[]): { text: string; expectedLoss: number } {
  const { answer, expectedLoss } = decide(metric, belief);
  return { text: typeof answer === "number" ? formatNumber(answer) : answer, expectedLoss };
}

function addSpent(spent: Spent, result: GenerationResult): void {
  spent.promptTokens += result.promptTokens;
  spent.completionTokens += result.completionTokens;
  spent.queueMs += result.timings.queueMs;
  if (result.speculation !== null) {
    const before = spent.speculation ?? { num_drafts: 0, num_draft_tokens: 0, num_accepted_tokens: 0, num_target_calls: 0 };
    spent.speculation = {
      num_drafts: before.num_drafts + result.speculation.num_drafts,
      num_draft_tokens: before.num_draft_tokens + result.speculation.num_draft_tokens,
      num_accepted_tokens: before.num_accepted_tokens + result.speculation.num_accepted_tokens,
      num_target_calls: before.num_target_calls + result.speculation.num_target_calls,
    };
  }
}
