import { randomInt } from "node:crypto";
import { plainDecoding } from "../engine/decoding/plain.ts";
import type { DecodedToken } from "../engine/decoding/strategy.ts";
import { generateChoice, type ChoiceOutcome } from "../engine/generate.ts";
import type { SamplingParams } from "../engine/sampling/params.ts";
import type { ServedModel } from "../engine/served-model.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";

/** A validated generation job in engine terms: every prompt gets `samplesPerPrompt` choices. */
export interface GenerationPlan {
  prompts: number[][];
  samplesPerPrompt: number;
  /** Choices returned per prompt: the best `n` of `samplesPerPrompt` (best_of), by mean logprob. */
  n: number;
  maxTokens: number;
  sampling: SamplingParams;
  stop: string[];
  stopTokenIds: Set<number>;
  ignoreEos: boolean;
  logprobs: number | null;
}

export interface GeneratedChoice {
  /** prompt index * n + rank, as OpenAI numbers choices. */
  index: number;
  promptIndex: number;
  text: string;
  tokens: DecodedToken[];
  outcome: ChoiceOutcome;
}

interface SampleResult {
  promptIndex: number;
  sample: number;
  text: string;
  tokens: DecodedToken[];
  outcome: ChoiceOutcome;
}

export interface GenerationResult {
  choices: GeneratedChoice[];
  promptTokens: number;
  completionTokens: number;
}

export interface GenerationTimings {
  queueMs: number;
  ttftMs: number | null;
}

/** Streamed pieces go to this callback, tagged with the choice's OpenAI index. */
export type DeltaListener = (index: number, text: string, tokens: DecodedToken[]) => void | Promise<void>;

export interface GenerationServices {
  scheduler: Scheduler;
  metrics: Metrics;
}

/**
 * Runs a plan on the model's sequences: one sequence per sample, all evaluating concurrently so
 * their steps share llama.cpp batches. Every sample stops when one fails or the lease aborts,
 * and the sequences go back to the pool only once all samples have stopped.
 */
export async function runGeneration(
  services: GenerationServices,
  model: ServedModel,
  plan: GenerationPlan,
  clientSignal: AbortSignal,
  onDelta?: DeltaListener,
): Promise<GenerationResult & { timings: GenerationTimings }> {
  const arrived = performance.now();
  const labels = { model_name: model.id };
  const samples = plan.prompts.flatMap((prompt, promptIndex) =>
    Array.from({ length: plan.samplesPerPrompt }, (_, sample) => ({ prompt, promptIndex, sample })));
  const requestSeed = plan.sampling.seed;
  let firstTokenAt: number | null = null;
  return services.scheduler.run(model.pool, samples.length, clientSignal, async (lease) => {
    services.metrics.queueTime.observe(labels, lease.queuedSeconds);
    services.metrics.promptTokens.inc(labels, samples.reduce((sum, { prompt }) => sum + prompt.length, 0));
    const failure = new AbortController();
    const signal = AbortSignal.any([lease.signal, failure.signal]);
    const streamsDirectly = plan.samplesPerPrompt === plan.n;
    const settled = await Promise.allSettled(samples.map(async ({ prompt, promptIndex, sample }, i): Promise<SampleResult> => {
      const generator = generateChoice(model, lease.sequences[i]!, plainDecoding, {
        prompt,
        maxTokens: plan.maxTokens,
        sampling: plan.sampling,
        seed: choiceSeed(requestSeed, promptIndex, sample),
        stop: plan.stop,
        stopTokenIds: plan.stopTokenIds,
        ignoreEos: plan.ignoreEos,
        logprobs: plan.logprobs,
        signal,
      });
      let text = "";
      const tokens: DecodedToken[] = [];
      let lastTokenAt = performance.now();
      try {
        for (;;) {
          const step = await generator.next();
          if (step.done === true) return { promptIndex, sample, text, tokens, outcome: step.value };
          const now = performance.now();
          if (step.value.tokens.length > 0) {
            // Counted as produced, so work done for cancelled requests shows too.
            services.metrics.generationTokens.inc(labels, step.value.tokens.length);
            if (firstTokenAt === null) {
              firstTokenAt = now;
              services.metrics.timeToFirstToken.observe(labels, (now - arrived) / 1000);
            } else if (tokens.length > 0) {
              services.metrics.interTokenLatency.observe(labels, (now - lastTokenAt) / 1000 / step.value.tokens.length);
            }
            lastTokenAt = now;
          }
          text += step.value.text;
          tokens.push(...step.value.tokens);
          if (streamsDirectly && onDelta !== undefined) await onDelta(promptIndex * plan.n + sample, step.value.text, step.value.tokens);
        }
      } catch (error) {
        failure.abort(error);
        throw error;
      }
    }));
    const rejected = settled.find((result) => result.status === "rejected");
    if (rejected !== undefined) throw (rejected as PromiseRejectedResult).reason;
    const finished = settled.map((result) => (result as PromiseFulfilledResult<SampleResult>).value);
    const choices = pickBest(finished, plan);
    if (!streamsDirectly && onDelta !== undefined) for (const choice of choices) await onDelta(choice.index, choice.text, choice.tokens);
    const promptTokens = plan.prompts.reduce((sum, prompt) => sum + prompt.length, 0);
    const completionTokens = finished.reduce((sum, sample) => sum + sample.outcome.completionTokens, 0);
    services.metrics.e2eLatency.observe(labels, (performance.now() - arrived) / 1000);
    return {
      choices,
      promptTokens,
      completionTokens,
      timings: { queueMs: lease.queuedSeconds * 1000, ttftMs: firstTokenAt === null ? null : firstTokenAt - arrived },
    };
  });
}


/** Keeps the n samples per prompt with the highest mean logprob (all of them when best_of = n). */
function pickBest(samples: SampleResult[], plan: GenerationPlan): GeneratedChoice[] {
  const choices: GeneratedChoice[] = [];
  for (let promptIndex = 0; promptIndex < plan.prompts.length; promptIndex++) {
    const candidates = samples.filter((sample) => sample.promptIndex === promptIndex);
    const ranked = plan.samplesPerPrompt === plan.n ? candidates : [...candidates].sort((a, b) => meanLogprob(b) - meanLogprob(a));
    ranked.slice(0, plan.n).forEach((sample, rank) => {
      choices.push({ index: promptIndex * plan.n + rank, promptIndex, text: sample.text, tokens: sample.tokens, outcome: sample.outcome });
    });
  }
  return choices;
}

function meanLogprob(sample: { outcome: ChoiceOutcome }): number {
  return sample.outcome.logprobSum / Math.max(1, sample.outcome.completionTokens);
}

/** Same request seed -> same per-choice seeds; different choices draw differently. */
function choiceSeed(seed: number | undefined, promptIndex: number, sample: number): number {
  if (seed === undefined) return randomInt(0, 2 ** 31);
  return (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(promptIndex + 1, 0x85ebca6b) ^ Math.imul(sample + 1, 0xc2b2ae35)) >>> 0;
}
