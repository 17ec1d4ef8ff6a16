/**
 * Speculative decoding for one served model: the draft model's sequences (one context per
 * target context, so drafting parallelizes like the target does) and the SpeculationTuner
 * that picks (K, L) for that pairing. A request chooses through its `speculation` field:
 * "auto" (the tuner), "off" (plain decoding) or a fixed { k, l }.
 */
import type { LlamaModel } from "node-llama-cpp";
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
  ) {}

  /** Creates the draft contexts and measures the pair's costs on a short prompt (a few hundred ms). */
  static async create(target: ServedModel, draft: LlamaModel, options: SpeculationOptions): Promise<Speculation> {
    const maxK = Math.max(1, Math.min(options.maxK, target.pool.size));
    const draftPool = await draftPoolFor(target, draft, options);
    const lease = leaseSpectrSequences(target.pool, draftPool, maxK);
    const { tuner, profile } = await createSpeculationTuner({
      targets: lease.targets,
      drafts: lease.drafts,
      prompt: target.tokenize("The quick brown fox jumps over the lazy dog, and then"),
      maxK,
      maxL: options.maxL,
    })
      .finally(() => lease.release())
      .catch(async (error: unknown) => {
        await draftPool.dispose();
        throw error;
      });
    return new Speculation(draftPool, tuner, profile, maxK, options.maxL);
  }

  /**
   * For another target on the same weights (a LoRA adapter on `sibling`'s model): draft
   * contexts of its own, so no draft state is shared either, and a tuner of its own, since
   * acceptance depends on the adapter; the costs are `sibling`'s, measured once (an adapter
   * adds little to a step), so loading an adapter does not stop to measure.
   */
  static async alongside(sibling: Speculation, target: ServedModel, draft: LlamaModel, options: SpeculationOptions): Promise<Speculation> {
    const draftPool = await draftPoolFor(target, draft, options);
    const tuner = new SpeculationTuner(costCurves(sibling.profile), { maxK: sibling.maxK, maxL: sibling.maxL });
    return new Speculation(draftPool, tuner, sibling.profile, sibling.maxK, sibling.maxL);
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
    const observe = this.tuner.observe.bind(this.tuner);
    return { k: Math.min(wanted.k, fits), policy: { ...fixedSpeculation(wanted.k, wanted.l), observe } };
  }

  async dispose(): Promise<void> {
    await this.draftPool.dispose();
  }
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
