/**
 * Speculative decoding for one served model: the draft model's sequences (one context per
 * target context, so drafting parallelizes like the target does) and the SpeculationTuner
 * that picks (K, L) for that pairing. A request chooses through its `speculation` field:
 * "auto" (the tuner), "off" (plain decoding) or a fixed { k, l }.
 */
import type { LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { createRandom } from "../../kernels/random.ts";
import { plainDecoding } from "./decoding/plain.ts";
import { greedy } from "./sampling/params.ts";
import { costCurves, createSpeculationTuner, SpeculationTuner, type CostProfile } from "./decoding/speculation-tuner.ts";
import { fixedSpeculation, type SpeculationPolicy } from "./decoding/spectr.ts";
import { createDraftPool, leaseSpectrSequences } from "./decoding/spectr-sequences.ts";
import type { SequencePool } from "./sequence-pool.ts";
import type { ServedModel } from "./served-model.ts";

/** What a request asked for, after validation (see protocol/sampling-fields.ts). */
export type SpeculationRequest = "auto" | "off" | { readonly k: number; readonly l: number };

export interface SpeculationOptions {
  /** Largest K and L the tuner considers and a request may ask for. */
  maxK: number;
  maxL: number;
  threads: number;
  batchSize: number;
}

/** How one request's choices decode: K target sequences per choice and the policy, or plain. */
export interface RequestSpeculation {
  k: number;
  policy: SpeculationPolicy;
}

export class Speculation {
  private constructor(
    readonly draftPool: SequencePool,
    readonly tuner: SpeculationTuner,
    readonly profile: CostProfile,
    readonly maxK: number,
    readonly maxL: number,
    private readonly draft: LlamaModel,
    private readonly options: SpeculationOptions,
  ) {}

  /**
   * Creates the draft contexts and measures the pair's costs (a few hundred ms) on the target's
   * own text: its greedy continuation of the start of a document, so calibration reads what
   * this model writes, in its language and tokenizer, not a fixed English sentence.
   */
  static async create(target: ServedModel, draft: LlamaModel, options: SpeculationOptions): Promise<Speculation> {
    const maxK = Math.max(1, Math.min(options.maxK, target.pool.size));
    const draftPool = await draftPoolFor(target, draft, options);
    const lease = leaseSpectrSequences(target.pool, draftPool, maxK);
    const { tuner, profile } = await calibrationText(target, lease.targets[0]!, calibrationTokens)
      .then((prompt) => createSpeculationTuner({ targets: lease.targets, drafts: lease.drafts, prompt, maxK, maxL: options.maxL }))
      .finally(() => lease.release())
      .catch(async (error: unknown) => {
        await draftPool.dispose();
        throw error;
      });
    return new Speculation(draftPool, tuner, profile, maxK, options.maxL, draft, options);
  }

  /**
   * For another target on the same weights (a LoRA adapter on this one's model): draft
   * contexts of its own, so no draft state is shared either, and a tuner of its own, since
   * acceptance depends on the adapter; the costs are this one's, measured once (an adapter
   * adds little to a step), so loading an adapter does not stop to measure.
   */
  async alongside(target: ServedModel): Promise<Speculation> {
    const draftPool = await draftPoolFor(target, this.draft, this.options);
    const tuner = new SpeculationTuner(costCurves(this.profile), { maxK: this.maxK, maxL: this.maxL });
    return new Speculation(draftPool, tuner, this.profile, this.maxK, this.maxL, this.draft, this.options);
  }

  /**
   * The policy for a request, or undefined for plain decoding. `concurrentChoices` caps K so the
   * request still fits the pool. A seeded request without an explicit choice decodes plainly:
   * SpecTr draws the same distribution through a different use of the random stream, and the
   * tuner's shape changes as it learns, so only plain decoding keeps a seed's output fixed.
   */
  choose(request: SpeculationRequest | undefined, options: { temperatureZero: boolean; seeded: boolean; concurrentChoices: number; poolSize: number }): RequestSpeculation | undefined {
    const wanted = request ?? (options.seeded && !options.temperatureZero ? "off" : "auto");
    if (wanted === "off") return undefined;
    const fits = Math.max(1, Math.floor(options.poolSize / options.concurrentChoices));
    if (wanted === "auto") {
      const { choice } = this.tuner.plan(options.temperatureZero);
      return { k: Math.min(choice.l > 0 ? choice.k : 1, fits), policy: this.tuner };
    }
    // L = 0 is plain decoding whatever K says: it leases one sequence, not K.
    if (wanted.l === 0) return undefined;
    const observe = this.tuner.observe.bind(this.tuner);
    const observeTime = this.tuner.observeTime.bind(this.tuner);
    return { k: Math.min(wanted.k, fits), policy: { ...fixedSpeculation(wanted.k, wanted.l), observe, observeTime } };
  }

  async dispose(): Promise<void> {
    await this.draftPool.dispose();
  }
}

const calibrationTokens = 24;

/** The model's greedy continuation of a document start (its BOS token, else its EOS as a separator). */
export async function calibrationText(target: ServedModel, sequence: LlamaContextSequence, length: number): Promise<number[]> {
  const start = target.documentStart();
  const text = [...start];
  const state = { target: sequence, sampling: greedy, random: createRandom(0), logprobs: null, history: [] as number[] };
  let input: number[] = start;
  while (state.history.length < length) {
    const [decoded] = await plainDecoding.next(input, state);
    state.history.push(decoded!.token);
    input = [decoded!.token];
  }
  await sequence.clearHistory();
  return [...text, ...state.history];
}

/** One draft context per target context, with as many sequences, so drafting parallelizes like the target. */
function draftPoolFor(target: ServedModel, draft: LlamaModel, options: SpeculationOptions): Promise<SequencePool> {
  return createDraftPool(draft, {
    sequencesPerContext: target.pool.contexts.map((context) => context.totalSequences),
    contextSize: target.contextSize,
    threads: options.threads,
    batchSize: options.batchSize,
  });
}
