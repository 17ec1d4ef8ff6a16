/**
 * A generation plan run on a served model: the engine's side of completions and chat. The plan
 * comes in validated (service/plan.ts); choices come out. Here the engine decides how each
 * choice decodes (plain or SpecTr, from the request and the model's tuner), leases draft
 * sequences, evaluates each prompt once (its other samples copy that state), and scores prompts.
 */
import { randomInt } from "node:crypto";
import type { LlamaContextSequence } from "node-llama-cpp";
import { linkSignals } from "../lifecycle/linked-signal.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { SpecDecodeUsage } from "../protocol/sampling-fields.ts";
import type { Lease, Pool } from "../scheduler/scheduler.ts";
import { plainDecoding } from "./decoding/plain.ts";
import { SpectrDecoding, type SpectrFigures } from "./decoding/spectr.ts";
import type { DecodedToken, DecodingStrategy } from "./decoding/strategy.ts";
import { generateChoice, type ChoiceOutcome } from "./generate.ts";
import { evaluateWithOutputs } from "./native/outputs.ts";
import { copySequenceState } from "./native/sequence-state.ts";
import type { SamplingParams } from "./sampling/params.ts";
import { scorePrompt } from "./score.ts";
import type { Grammar } from "./grammar.ts";
import type { ServedModel } from "./served-model.ts";
import type { RequestSpeculation, SpeculationRequest } from "./speculation.ts";

/** A validated generation job in engine terms: every prompt gets `samplesPerPrompt` choices. */
export interface GenerationPlan {
  prompts: number[][];
  samplesPerPrompt: number;
  /** Choices returned per prompt: the best `n` of `samplesPerPrompt` (best_of), by mean logprob. */
  n: number;
  /** 0 only scores the prompt (echo with logprobs). */
  maxTokens: number;
  sampling: SamplingParams;
  stop: string[];
  stopTokenIds: Set<number>;
  ignoreEos: boolean;
  logprobs: number | null;
  /** Also report the logprobs of the prompt's own tokens (echo with logprobs). */
  scorePrompt: boolean;
  /** The request's `speculation` field; undefined: the server's default. */
  speculation: SpeculationRequest | undefined;
  /** Constrains every choice (response_format, tools, `grammar`); each choice starts its own state. */
  grammar?: Grammar;
}

export interface GeneratedChoice {
  /** prompt index * n + rank, as OpenAI numbers choices. */
  index: number;
  promptIndex: number;
  text: string;
  tokens: DecodedToken[];
  promptScores: DecodedToken[] | null;
  outcome: ChoiceOutcome;
}

export interface GenerationResult {
  choices: GeneratedChoice[];
  promptTokens: number;
  completionTokens: number;
  timings: { queueMs: number; ttftMs: number | null };
  /** Summed over the choices; null when speculation was off for the request. */
  speculation: SpecDecodeUsage | null;
}

/**
 * Streams a generation as it happens, each call tagged with the choice's OpenAI index. Only for
 * plans without best_of ranking (samplesPerPrompt = n): a ranked choice is known only at the end.
 */
export interface GenerationListener {
  /** Once per choice, after its prompt is in and before its first token. */
  onStart?(index: number, promptScores: DecodedToken[] | null): void | Promise<void>;
  onDelta(index: number, text: string, tokens: DecodedToken[]): void | Promise<void>;
}

/** Admission of work against a pool (the scheduler). */
export interface Admission {
  run<Item, T>(pool: Pool<Item>, count: number, clientSignal: AbortSignal, work: (lease: Lease<Item>) => Promise<T>): Promise<T>;
}

export interface GenerationServices {
  scheduler: Admission;
  metrics: Metrics;
}

interface Sample {
  prompt: number[];
  promptIndex: number;
  sample: number;
  index: number;
}

interface SampleResult extends Sample {
  text: string;
  tokens: DecodedToken[];
  promptScores: DecodedToken[] | null;
  outcome: ChoiceOutcome;
  speculation: SpectrFigures | null;
}

interface Clock {
  arrived: number;
  firstTokenAt: number | null;
}

/**
 * Runs a plan on the model's sequences: one sequence per sample (K per sample when it
 * speculates: SpecTr's K target sequences, plus K draft sequences of the paired draft pool), all
 * evaluating concurrently so their steps share llama.cpp batches. Every sample stops when one
 * fails or the lease aborts, and the sequences go back to the pool only once all have stopped.
 */
export async function runGeneration(
  services: GenerationServices,
  model: ServedModel,
  plan: GenerationPlan,
  clientSignal: AbortSignal,
  /** performance.now() at the request's arrival: TTFT and end-to-end latency count from it. */
  arrived: number,
  listener?: GenerationListener,
): Promise<GenerationResult> {
  if (listener !== undefined && plan.samplesPerPrompt !== plan.n) throw new Error("best_of ranking cannot stream");
  const labels = { model_name: model.id };
  const samples: Sample[] = plan.prompts.flatMap((prompt, promptIndex) =>
    Array.from({ length: plan.samplesPerPrompt }, (_, sample) => ({ prompt, promptIndex, sample, index: promptIndex * plan.n + sample })));
  const clock: Clock = { arrived, firstTokenAt: null };
  const speculation = model.speculation?.choose(plan.speculation, {
    temperatureZero: plan.sampling.temperature === 0,
    seeded: plan.sampling.seed !== undefined,
    concurrentChoices: samples.length,
    poolSize: model.pool.size,
  });
  const k = speculation?.k ?? 1;
  return services.scheduler.run(model.pool, samples.length * k, clientSignal, async (lease) => {
    services.metrics.queueTime.observe(labels, lease.queuedSeconds);
    services.metrics.promptTokens.inc(labels, samples.reduce((sum, { prompt }) => sum + prompt.length, 0));
    const failure = new AbortController();
    // linkSignals rather than AbortSignal.any, which leaks on Node 20 (see linked-signal.ts).
    using linked = linkSignals([lease.signal, failure.signal]);
    const signal = linked.signal;
    const sequencesOf = (i: number): LlamaContextSequence[] => lease.items.slice(i * k, (i + 1) * k);
    const scores = await evaluatePrompts(plan, samples, sequencesOf);
    const settled = await Promise.allSettled(samples.map((sample, i) =>
      runSample(services, model, plan, sample, sequencesOf(i), scores[sample.promptIndex]!, speculation, signal, clock, listener).catch((error: unknown) => {
        failure.abort(error);
        throw error;
      })));
    const rejected = settled.find((result) => result.status === "rejected");
    if (rejected !== undefined) throw (rejected as PromiseRejectedResult).reason;
    const finished = settled.map((result) => (result as PromiseFulfilledResult<SampleResult>).value);
    const e2eMs = performance.now() - arrived;
    services.metrics.e2eLatency.observe(labels, e2eMs / 1000);
    return {
      choices: pickBest(finished, plan),
      promptTokens: plan.prompts.reduce((sum, prompt) => sum + prompt.length, 0),
      completionTokens: finished.reduce((sum, sample) => sum + sample.outcome.completionTokens, 0),
      timings: { queueMs: lease.queuedSeconds * 1000, ttftMs: clock.firstTokenAt === null ? null : clock.firstTokenAt - arrived },
      speculation: specDecodeUsage(finished),
    };
  });
}

/**
 * Each prompt (all but its last token) is evaluated once, on its first sample's sequence, and
 * scored there when the plan asks; its other samples copy that state (a sequence of another
 * context evaluates for itself). Returns the prompt scores by prompt index.
 */
async function evaluatePrompts(plan: GenerationPlan, samples: readonly Sample[], sequencesOf: (i: number) => LlamaContextSequence[]): Promise<(DecodedToken[] | null)[]> {
  return Promise.all(plan.prompts.map(async (prompt, promptIndex) => {
    const members = samples.flatMap((sample, i) => (sample.promptIndex === promptIndex ? [sequencesOf(i)[0]!] : []));
    const [first, ...others] = members;
    const scores = plan.scorePrompt ? await scorePrompt(first!, prompt, plan.logprobs ?? 0) : (await evaluateWithOutputs(first!, prompt.slice(0, -1), new Map()), null);
    await Promise.all(others.map((sequence) => copySequenceState(sequence, first!, prompt.length - 1)));
    return scores;
  }));
}

async function runSample(
  services: GenerationServices,
  model: ServedModel,
  plan: GenerationPlan,
  sample: Sample,
  targets: LlamaContextSequence[],
  promptScores: DecodedToken[] | null,
  speculation: RequestSpeculation | undefined,
  signal: AbortSignal,
  clock: Clock,
  listener: GenerationListener | undefined,
): Promise<SampleResult> {
  const sequence = targets[0]!;
  await listener?.onStart?.(sample.index, promptScores);
  const draftPool = model.speculation?.draftPool;
  // Never more drafts than free (adapters may share a draft pool); with none, SpecTr decodes plainly.
  const drafts = speculation === undefined || draftPool === undefined ? [] : draftPool.take(Math.min(targets.length, draftPool.available));
  const spectr = speculation === undefined ? undefined : new SpectrDecoding({ targets, drafts, policy: speculation.policy, vocabularySize: model.vocabularySize });
  try {
    const result = await decodeSample(services, model, plan, sample, sequence, spectr ?? plainDecoding, signal, clock, listener);
    if (spectr !== undefined) services.metrics.recordSpeculation(model.id, spectr.figures);
    return { ...result, promptScores, speculation: spectr?.figures ?? null };
  } finally {
    if (drafts.length > 0) await draftPool!.give(drafts);
  }
}

async function decodeSample(
  services: GenerationServices,
  model: ServedModel,
  plan: GenerationPlan,
  sample: Sample,
  sequence: LlamaContextSequence,
  strategy: DecodingStrategy,
  signal: AbortSignal,
  clock: Clock,
  listener: GenerationListener | undefined,
): Promise<Omit<SampleResult, "promptScores" | "speculation">> {
  const labels = { model_name: model.id };
  const generator = generateChoice(model, sequence, strategy, {
    prompt: sample.prompt,
    evaluated: sequence.contextTokens.length,
    maxTokens: plan.maxTokens,
    sampling: plan.sampling,
    seed: choiceSeed(plan.sampling.seed, sample.promptIndex, sample.sample),
    stop: plan.stop,
    stopTokenIds: plan.stopTokenIds,
    ignoreEos: plan.ignoreEos,
    logprobs: plan.logprobs,
    ...(plan.grammar === undefined ? {} : { grammar: plan.grammar.start() }),
    signal,
  });
  let text = "";
  const tokens: DecodedToken[] = [];
  let lastTokenAt = performance.now();
  for (;;) {
    const step = await generator.next();
    if (step.done === true) return { ...sample, text, tokens, outcome: step.value };
    const now = performance.now();
    if (step.value.tokens.length > 0) {
      // Counted as produced, so work done for cancelled requests shows too.
      services.metrics.generationTokens.inc(labels, step.value.tokens.length);
      if (clock.firstTokenAt === null) {
        clock.firstTokenAt = now;
        services.metrics.timeToFirstToken.observe(labels, (now - clock.arrived) / 1000);
      } else if (tokens.length > 0) {
        services.metrics.interTokenLatency.observe(labels, (now - lastTokenAt) / 1000 / step.value.tokens.length);
      }
      lastTokenAt = now;
    }
    text += step.value.text;
    tokens.push(...step.value.tokens);
    await listener?.onDelta(sample.index, step.value.text, step.value.tokens);
  }
}

function specDecodeUsage(samples: readonly SampleResult[]): SpecDecodeUsage | null {
  const figures = samples.flatMap((sample) => (sample.speculation === null ? [] : [sample.speculation]));
  if (figures.length === 0) return null;
  const sum = (read: (f: SpectrFigures) => number): number => figures.reduce((total, f) => total + read(f), 0);
  return {
    num_drafts: sum((f) => f.drafts),
    num_draft_tokens: sum((f) => f.draftedTokens),
    num_accepted_tokens: sum((f) => f.acceptedTokens),
    num_target_calls: sum((f) => f.targetCalls),
  };
}

/** Keeps the n samples per prompt with the highest mean logprob (all of them when best_of = n). */
function pickBest(samples: SampleResult[], plan: GenerationPlan): GeneratedChoice[] {
  const choices: GeneratedChoice[] = [];
  for (let promptIndex = 0; promptIndex < plan.prompts.length; promptIndex++) {
    const candidates = samples.filter((sample) => sample.promptIndex === promptIndex);
    const ranked = plan.samplesPerPrompt === plan.n ? candidates : [...candidates].sort((a, b) => meanLogprob(b) - meanLogprob(a));
    ranked.slice(0, plan.n).forEach((sample, rank) => {
      choices.push({ index: promptIndex * plan.n + rank, promptIndex, text: sample.text, tokens: sample.tokens, promptScores: sample.promptScores, outcome: sample.outcome });
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
