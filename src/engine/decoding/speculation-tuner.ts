/**
 * Chooses SpecTr's (K, L) for a served model: measures at start-up what a batched call costs
 * the target and the draft for the batch sizes in play, turns that into cost curves
 * (tableCostCurve), and picks the fastest shape with chooseSpeculation under an acceptance
 * model that starts from a prior and follows the blocks actually served (estimator.ts),
 * falling back to plain decoding (K = 1, L = 0) when speculation does not pay.
 *
 * One tuner per served model, shared by all its choices (it is the SpeculationPolicy every
 * SpectrDecoding of that model gets); temperature 0 and sampling are tuned apart: their
 * acceptance differs, and so do their costs (at temperature 0 both models only read the argmax).
 *
 * Cost model assumptions (beyond cost.ts's): a sampled block reads a distribution per draft
 * per draft step and per verified position (pessimistic: shared prefixes are read once);
 * costs are measured on a short context and do not grow with it; a measured call includes
 * node-llama-cpp's batching overhead, so curves are for one choice on otherwise idle contexts.
 *
 * What start-up timing misses (the reads and bookkeeping of a whole block, other requests'
 * batches) is learned from the wall time of the steps served: the tuner keeps the median of the latest
 * (observed - modelled) per plain step and per verified token of a speculative block, and
 * plans with the measured costs plus those residuals. A wrong start-up model then costs a few
 * blocks, not every request: on 2026-12-01 the committed pair's profile predicted 632 tok/s for
 * K = 1, L = 2 against 484 plain, and such blocks ran at 0.57x plain. Whichever of plain and
 * speculation is chosen, two steps in `exploreEvery` run the other, so both residuals stay fresh;
 * a step right after a switch is not timed (SpectrDecoding), since it pays a catch-up.
 */
import type { LlamaContextSequence } from "node-llama-cpp";
import {
  chooseSpeculation,
  createAcceptanceStats,
  estimatedAcceptanceModel,
  iidAcceptanceModel,
  observeBlock,
  plainDecoding,
  speculativeBlockMs,
  tableCostCurve,
  type AcceptanceModel,
  type AcceptanceStats,
  type SpeculationCosts,
  type SpeculationPlan,
  type SpectrBlockResult,
} from "../../../kernels/spectr/index.ts";
import type { ChainConfig } from "../native/chain.ts";
import { evaluateWithOutputs, type OutputTask } from "../native/outputs.ts";
import type { SpeculationPolicy, SpeculationShape } from "./spectr.ts";
import { alignSequences } from "./spectr-sequences.ts";

/** Measured (batch, ms) points and the per-position cost of SpecTr's reads. */
export interface CostProfile {
  /** One target call on n tokens (spread over up to K sequences), argmax only. */
  readonly target: ReadonlyArray<readonly [number, number]>;
  /** One draft step on k sequences (one token each), argmax only. */
  readonly draft: ReadonlyArray<readonly [number, number]>;
  /** What reading a sampled position's distribution (head and total weight) adds to an argmax read. */
  readonly distributionMs: number;
}

export interface MeasureOptions {
  /** Target and draft sequences to time on (cleared before and after). */
  readonly targets: readonly LlamaContextSequence[];
  readonly drafts: readonly LlamaContextSequence[];
  /** Context to time on (a short representative prompt). */
  readonly prompt: readonly number[];
  /** Largest K and L considered. */
  readonly maxK: number;
  readonly maxL: number;
  /** Timed rounds per shape (median taken); default 5. */
  readonly rounds?: number;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const argmax: ChainConfig = { temperature: 0 };

/**
 * Times batched calls shaped as SpecTr makes them: K sequences x m tokens for the target
 * (m = L + 1; m = 1, K = 1 is plain decoding) and K sequences x 1 token for the draft, each on
 * the prompt, and what a sampled position's reads add. A few hundred ms at start-up.
 */
export async function measureCosts(options: MeasureOptions): Promise<CostProfile> {
  const { prompt, maxK, maxL, rounds = 5 } = options;
  const ks = [1, 2, 4, 8].filter((k) => k <= maxK && k <= options.targets.length);
  const ms = [1, 2, 3, 5, 9].filter((m) => m <= maxL + 1);
  const filler = (count: number, salt: number): number[] => Array.from({ length: count }, (_, i) => prompt[(i + salt) % prompt.length] ?? 1);

  const time = async (sequences: readonly LlamaContextSequence[], tokensEach: number, read: OutputTask<unknown>): Promise<number> => {
    const times: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      const catchUp = await alignSequences(sequences, prompt);
      const start = performance.now();
      await Promise.all(sequences.map((sequence, k) => {
        const tokens = [...catchUp[k]!, ...filler(tokensEach - 1, k + round)];
        return evaluateWithOutputs(sequence, tokens, new Map([[tokens.length - 1, read]]));
      }));
      if (round > 0) times.push(performance.now() - start); // round 0 evaluates the prompt
    }
    return median(times);
  };
  const argmaxRead: OutputTask<unknown> = (reader) => reader.read({ chain: argmax });

  const byBatch = new Map<number, number[]>();
  for (const k of ks) for (const m of ms) {
    const n = k * m;
    byBatch.set(n, [...(byBatch.get(n) ?? []), await time(options.targets.slice(0, k), m, argmaxRead)]);
  }
  const draft: [number, number][] = [];
  for (const k of ks.filter((k) => k <= options.drafts.length)) draft.push([k, await time(options.drafts.slice(0, k), 1, argmaxRead)]);

  // A sampled position: a seeded draw with the total weight, and the head of 32 tokens.
  const sampledChain: ChainConfig = { temperature: 1, seed: 1 };
  const sampledRead: OutputTask<unknown> = async (reader) => {
    await reader.read({ chain: sampledChain, totalWeight: true });
    return reader.read({ chain: { ...sampledChain, topK: 32 }, top: 32 });
  };
  const sampled = await time(options.targets.slice(0, 1), 1, sampledRead);
  await Promise.all([...options.targets, ...options.drafts].map((s) => s.clearHistory()));
  const plainToken = median(byBatch.get(1) ?? [0]);
  return {
    target: [...byBatch.entries()].map(([n, values]) => [n, median(values)] as const),
    draft,
    distributionMs: Math.max(0, sampled - plainToken),
  };
}

/** Cost curves for sampled decoding (distributions copied) and for native greedy decoding. */
export function costCurves(profile: CostProfile): { sampled: SpeculationCosts; greedy: SpeculationCosts } {
  const target = tableCostCurve(profile.target);
  const draft = tableCostCurve(profile.draft);
  const d = profile.distributionMs;
  return {
    // Plain sampling is one native draw, as cheap as the argmax.
    sampled: { targetMs: (n) => target(n) + n * d, draftStepMs: (k) => draft(k) + k * d, plainMs: target(1) },
    // One distribution per block ranks the K distinct first tokens.
    greedy: { targetMs: target, draftStepMs: draft, blockOverheadMs: d },
  };
}

export interface TunerOptions {
  readonly maxK: number;
  readonly maxL: number;
  /** Acceptance priors (defaults: alpha 0.8, agreement 0.5 sampled; alpha 0.8, agreement 0 greedy). */
  readonly prior?: { readonly sampled?: AcceptanceModel; readonly greedy?: AcceptanceModel };
  /** Blocks between re-plans (default 16). */
  readonly replanEvery?: number;
  /** Two steps in this many run the option not chosen (plain or speculation), so its estimates stay current (default 64). */
  readonly exploreEvery?: number;
  /** Half-life of observed blocks, in blocks (default 200). */
  readonly halfLife?: number;
  /** Minimum gain over plain for speculation to be chosen (default 0.05). */
  readonly minGain?: number;
  /** Steps whose timing residuals are kept, per option and mode; the median is used (default 15). */
  readonly timingWindow?: number;
}

interface ModeState {
  /** The costs measured at start-up. */
  readonly measured: SpeculationCosts;
  /** What the latest plain steps took beyond the measured plainMs. */
  readonly plainResiduals: RecentValues;
  /** What the latest speculative blocks took beyond their measured cost, per verified token. */
  readonly tokenResiduals: RecentValues;
  /** The measured costs with the residuals added: what plans are made with. */
  costs: SpeculationCosts;
  prior: AcceptanceModel;
  stats: AcceptanceStats;
  plan: SpeculationPlan;
  sinceReplan: number;
  blocks: number;
}

/** The adaptive SpeculationPolicy: one per served model, shared by its choices. */
export class SpeculationTuner implements SpeculationPolicy {
  private readonly modes: { sampled: ModeState; greedy: ModeState };
  private readonly ks: number[];
  private readonly ls: number[];

  constructor(
    costs: { sampled: SpeculationCosts; greedy: SpeculationCosts },
    private readonly options: TunerOptions,
  ) {
    this.ks = Array.from({ length: options.maxK }, (_, i) => i + 1);
    this.ls = Array.from({ length: options.maxL }, (_, i) => i + 1);
    const mode = (modeCosts: SpeculationCosts, prior: AcceptanceModel): ModeState => {
      const stats = createAcceptanceStats({ maxK: options.maxK, maxL: options.maxL, halfLife: options.halfLife ?? 200 });
      const window = options.timingWindow ?? 15;
      return { measured: modeCosts, plainResiduals: new RecentValues(window), tokenResiduals: new RecentValues(window), costs: modeCosts, prior, stats, plan: this.choose(modeCosts, prior), sinceReplan: 0, blocks: 0 };
    };
    this.modes = {
      sampled: mode(costs.sampled, options.prior?.sampled ?? iidAcceptanceModel({ alpha: 0.8, agreement: 0.5 })),
      greedy: mode(costs.greedy, options.prior?.greedy ?? iidAcceptanceModel({ alpha: 0.8, agreement: 0 })),
    };
  }

  /** The current plan for a mode (choice, plain, candidates best first). */
  plan(temperatureZero: boolean): SpeculationPlan {
    return this.mode(temperatureZero).plan;
  }

  shape(temperatureZero: boolean): SpeculationShape {
    const state = this.mode(temperatureZero);
    state.blocks++;
    const { choice, candidates } = state.plan;
    // Two steps of the other option: the first catches its sequences up, the second is timed.
    const every = this.options.exploreEvery ?? 64;
    const exploring = (state.blocks - 1) % every >= every - 2;
    if (choice.l > 0) return exploring ? { k: 1, l: 0 } : { k: choice.k, l: choice.l };
    const explore = candidates[0];
    if (explore !== undefined && exploring) return { k: explore.k, l: explore.l };
    return { k: 1, l: 0 };
  }

  observe(block: SpectrBlockResult, shape: SpeculationShape, temperatureZero: boolean): void {
    if (shape.l === 0) return;
    const state = this.mode(temperatureZero);
    // Re-planning waits for the block's timing (observeTime), which follows.
    state.stats = observeBlock(state.stats, block);
  }

  /** The wall time of one step of `shape` (L = 0: a plain step), its reads and bookkeeping included. */
  observeTime(shape: SpeculationShape, ms: number, temperatureZero: boolean): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const state = this.mode(temperatureZero);
    if (shape.l === 0) state.plainResiduals.add(ms - plainDecoding(state.measured).msPerBlock);
    else state.tokenResiduals.add((ms - speculativeBlockMs(state.measured, shape.k, shape.l)) / (shape.k * (shape.l + 1)));
    state.costs = withResiduals(state.measured, state.plainResiduals.median() ?? 0, state.tokenResiduals.median() ?? 0);
    if (++state.sinceReplan >= (this.options.replanEvery ?? 16)) {
      state.sinceReplan = 0;
      state.plan = this.choose(state.costs, estimatedAcceptanceModel(state.stats, state.prior));
    }
  }

  private mode(temperatureZero: boolean): ModeState {
    return temperatureZero ? this.modes.greedy : this.modes.sampled;
  }

  private choose(costs: SpeculationCosts, model: AcceptanceModel): SpeculationPlan {
    return chooseSpeculation(costs, model, { ks: this.ks, ls: this.ls, minGain: this.options.minGain ?? 0.05 });
  }
}

/**
 * The last `capacity` values and their median. A median, not a mean: the first step on a fresh
 * sequence allocates its sampler's buffers (megabytes at 256k tokens) and can take several
 * times a normal step, and the option not chosen is re-timed only once every `exploreEvery`
 * steps, so one outlier would otherwise steer plans for hundreds of steps.
 */
class RecentValues {
  private readonly values: number[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  add(value: number): void {
    if (this.values.length < this.capacity) this.values.push(value);
    else this.values[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
  }

  median(): number | undefined {
    return this.values.length === 0 ? undefined : median(this.values);
  }
}

/** Measured costs plus what steps were seen to take beyond them (never below zero). */
function withResiduals(measured: SpeculationCosts, plainResidualMs: number, tokenResidualMs: number): SpeculationCosts {
  const plainMs = plainDecoding(measured).msPerBlock;
  return {
    ...measured,
    targetMs: (n) => Math.max(0, measured.targetMs(n) + n * tokenResidualMs),
    plainMs: Math.max(1e-3, plainMs + plainResidualMs),
  };
}

/** Measures the costs on the given sequences and returns a tuner starting from the priors. */
export async function createSpeculationTuner(measure: MeasureOptions, options: Omit<TunerOptions, "maxK" | "maxL"> = {}): Promise<{ tuner: SpeculationTuner; profile: CostProfile }> {
  const profile = await measureCosts(measure);
  return { tuner: new SpeculationTuner(costCurves(profile), { ...options, maxK: measure.maxK, maxL: measure.maxL }), profile };
}
