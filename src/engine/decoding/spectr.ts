/**
 * SpecTr decoding (Sun et al., NeurIPS 2023; /work/shared/papers/spectr.md) for ONE choice, on
 * K target sequences and K draft sequences (spectr-sequences.ts). p = target, q = draft, both
 * AFTER the request's sampling transforms (applySampling, exactly as plain decoding).
 *
 * One block from the accepted context c (prompt + generated tokens):
 * 1. Align: the sequences keep only the prefix they all share with c (eraseContextTokenRanges;
 *    equal lengths per batch, see alignSequences); what they lack (the catch-up tokens, at
 *    least the last one of c) is evaluated inside this block's first batched call of each
 *    model, never in a call of its own.
 * 2. Draft, L steps: step t is one batched round over the K draft sequences (concurrent
 *    controlledEvaluate calls on one context share one decode). Draft k evaluates its catch-up
 *    (t = 0) or its previous draft token, and samples X_k[t] ~ q(. | c, X_k[<t]) with the
 *    history c's generated tokens + X_k[<t] (penalties count the draft's own tokens).
 * 3. Verify: one batched round; target sequence k evaluates its catch-up + X_k[0..L-1] and
 *    returns p(. | c, X_k[<t]) for t = 0..L (the last catch-up token gives t = 0).
 * 4. Select: selectBlock (kernels/spectr) emits 1..L+1 tokens distributed exactly as the
 *    target's continuation of c.
 * K = 1 is standard speculative sampling; L = 0 is plain decoding (one target sequence).
 *
 * Distributions cost ~0.8 ms each to copy out of node-llama-cpp, so they are asked for only
 * where read: at the last position of each draft step, at the L + 1 verification positions,
 * and only once per distinct prefix (drafts that agree on X[<t] share q and p at t; the
 * selection reads the lowest-indexed survivor's, which is that prefix's first holder).
 *
 * Temperature 0: drafts are the K most likely DISTINCT first tokens of q (ranked after
 * penalties and bias) continued greedily; acceptance is exact match with argmax p, so the
 * output is plain greedy decoding's. Without penalties, bias or logprobs both models pick the
 * argmax natively (as plain decoding does) and no distribution is copied at all.
 */
import type { ControlledEvaluateIndexOutput, ControlledEvaluateInputItem, LlamaContextSequence, Token } from "node-llama-cpp";
import { uniformChance, type Chance, type SparseDistribution } from "../../../kernels/kseq/index.ts";
import { greedyFirstTokens, selectBlock, type SpectrBlockResult } from "../../../kernels/spectr/index.ts";
import { invalidRequest } from "../../protocol/errors.ts";
import { fromProbabilityMap, probabilityOf, safeLog, samplingDistributionOptions, topLogprobs, type Distribution, type DistributionOptions } from "../sampling/distribution.ts";
import { hasPenalties, type SamplingParams } from "../sampling/params.ts";
import { applySampling } from "../sampling/transform.ts";
import { plainDecoding } from "./plain.ts";
import { alignSequences, type SpectrSequences } from "./spectr-sequences.ts";
import type { DecodedToken, DecodingState, DecodingStrategy } from "./strategy.ts";

/** Drafts per block and draft length: (1, 0) is plain decoding. */
export interface SpeculationShape {
  readonly k: number;
  readonly l: number;
}

/** Chooses (K, L) per block and learns from the blocks served (speculation-tuner.ts). */
export interface SpeculationPolicy {
  shape(temperatureZero: boolean): SpeculationShape;
  observe?(block: SpectrBlockResult, shape: SpeculationShape, temperatureZero: boolean): void;
}

export function fixedSpeculation(k: number, l: number): SpeculationPolicy {
  if (!Number.isInteger(k) || k < 1 || !Number.isInteger(l) || l < 0) throw new RangeError(`(K, L) = (${k}, ${l}): K >= 1, L >= 0 integers`);
  return { shape: () => ({ k, l }) };
}

/** Per-choice figures, for `usage` and Prometheus. */
export interface SpectrFigures {
  /** Blocks, plain steps (L = 0) included. */
  blocks: number;
  /** Draft continuations proposed: K per speculative block. */
  drafts: number;
  /** Batched target rounds (one per block): the serial target calls. */
  targetCalls: number;
  /** Batched draft rounds (L per block). */
  draftCalls: number;
  /** Draft tokens proposed: K x L per block. */
  draftedTokens: number;
  /** Emitted tokens that a draft held (accepted, or the same token drawn from the residual). */
  acceptedTokens: number;
  /** Tokens emitted by blocks (the generation loop may drop some after a stop). */
  emittedTokens: number;
  /** reachedByPosition[t]: blocks that evaluated draft position t; acceptedByPosition[t]: of those, blocks that kept a draft there. */
  reachedByPosition: number[];
  acceptedByPosition: number[];
}

export interface SpectrDecodingOptions extends SpectrSequences {
  policy: SpeculationPolicy;
  /**
   * Largest difference tolerated between survivors' distributions at one position (they share
   * the prefix); Infinity (default) skips the check. Shared prefixes are scored once, so only
   * survivors that went different ways through the KV cache are ever compared.
   */
  survivorTolerance?: number;
}

type Request = "probabilities" | "token";

/** What one evaluated position returned: a raw distribution or a natively chosen argmax. */
type Scored = { raw: Distribution } | { token: number };

/**
 * A stateful strategy for one choice: create one per choice, pass it to generateChoice. It
 * ignores `state.target` except to read the prompt tokens already in it on the first call.
 */
export class SpectrDecoding implements DecodingStrategy {
  readonly name = "spectr";
  readonly figures: SpectrFigures = {
    blocks: 0,
    drafts: 0,
    targetCalls: 0,
    draftCalls: 0,
    draftedTokens: 0,
    acceptedTokens: 0,
    emittedTokens: 0,
    reachedByPosition: [],
    acceptedByPosition: [],
  };
  private prompt: number[] | undefined;
  private readonly targets: readonly LlamaContextSequence[];
  private readonly drafts: readonly LlamaContextSequence[];
  private readonly policy: SpeculationPolicy;
  private readonly survivorTolerance: number;

  constructor(options: SpectrDecodingOptions) {
    if (options.targets.length < 1) throw new RangeError("SpecTr needs at least one target sequence");
    this.targets = options.targets;
    this.drafts = options.drafts;
    this.policy = options.policy;
    this.survivorTolerance = options.survivorTolerance ?? Infinity;
  }

  async next(input: readonly number[], state: DecodingState): Promise<DecodedToken[]> {
    this.prompt ??= [...state.target.contextTokens, ...input];
    const context = [...this.prompt, ...state.history];
    const temperatureZero = state.sampling.temperature === 0;
    const wanted = this.policy.shape(temperatureZero);
    const l = this.drafts.length === 0 ? 0 : wanted.l;
    if (l === 0) return this.plainStep(context, state);
    const k = Math.max(1, Math.min(wanted.k, this.targets.length, this.drafts.length));
    const block = new Block(this, state, context, k, l);
    const { result, decoded, drafted } = await block.run();
    this.record(result, drafted, { k, l }, temperatureZero);
    return decoded;
  }

  /** L = 0 is exactly plain decoding (same calls, same use of the random source) on the first target sequence. */
  private async plainStep(context: readonly number[], state: DecodingState): Promise<DecodedToken[]> {
    const target = this.targets[0]!;
    const catchUp = await alignSequences([target], context);
    const decoded = await plainDecoding.next(catchUp, { ...state, target });
    this.figures.blocks++;
    this.figures.targetCalls++;
    this.figures.emittedTokens += decoded.length;
    return decoded;
  }

  /** @internal the sequences a block uses. */
  sequences(k: number): { targets: readonly LlamaContextSequence[]; drafts: readonly LlamaContextSequence[] } {
    return { targets: this.targets.slice(0, k), drafts: this.drafts.slice(0, k) };
  }

  /** @internal */
  get tolerance(): number {
    return this.survivorTolerance;
  }

  /** `drafted`: the drafts this block proposed (the greedy draft may propose fewer than K distinct ones). */
  private record(result: SpectrBlockResult, drafted: number, shape: SpeculationShape, temperatureZero: boolean): void {
    const f = this.figures;
    f.blocks++;
    f.drafts += drafted;
    f.targetCalls++;
    f.draftCalls += shape.l;
    f.draftedTokens += drafted * shape.l;
    f.acceptedTokens += result.draftTokens;
    f.emittedTokens += result.tokens.length;
    result.positions.forEach((position, t) => {
      f.reachedByPosition[t] = (f.reachedByPosition[t] ?? 0) + 1;
      f.acceptedByPosition[t] = (f.acceptedByPosition[t] ?? 0) + (position.survivorsAfter > 0 ? 1 : 0);
    });
    this.policy.observe?.(result, shape, temperatureZero);
  }
}

/** One SpecTr block: align, draft, verify, select. */
class Block {
  private readonly sampling: SamplingParams;
  private readonly history: readonly number[];
  private readonly chance: Chance;
  private readonly temperatureZero: boolean;
  /** Both models may pick argmax natively (temperature 0, nothing that changes the ranking). */
  private readonly nativeDraft: boolean;
  private readonly nativeTarget: boolean;
  /** What every distribution of this block is copied with (the top k only, where that is exact). */
  private readonly distributionOptions: DistributionOptions;
  private readonly drafts: number[][];
  private readonly q: SparseDistribution[][];

  constructor(
    private readonly owner: SpectrDecoding,
    private readonly state: DecodingState,
    private readonly context: readonly number[],
    private k: number,
    private readonly l: number,
  ) {
    this.sampling = state.sampling;
    this.history = state.history;
    this.chance = uniformChance(() => state.random.next());
    this.temperatureZero = this.sampling.temperature === 0;
    this.nativeDraft = this.temperatureZero && this.sampling.logitBias.size === 0 && !hasPenalties(this.sampling);
    this.nativeTarget = this.nativeDraft && state.logprobs === null;
    this.distributionOptions = samplingDistributionOptions(this.sampling, state.logprobs);
    this.drafts = Array.from({ length: k }, () => []);
    this.q = Array.from({ length: k }, () => []);
  }

  async run(): Promise<{ result: SpectrBlockResult; decoded: DecodedToken[]; drafted: number }> {
    // Blocks always draft (L >= 1): SpectrDecoding takes L = 0 steps through plain decoding.
    const { targets, drafts } = this.owner.sequences(this.k);
    const [targetCatchUp, draftCatchUp] = await Promise.all([alignSequences(targets, this.context), alignSequences(drafts, this.context)]);
    if (this.temperatureZero) await this.draftGreedy(drafts, draftCatchUp);
    else await this.draftSampled(drafts, draftCatchUp);
    const k = this.k; // the greedy draft may use fewer drafts than asked for (fewer distinct tokens)
    const scored = await this.verify(targets.slice(0, k), targetCatchUp);
    const p = this.targetGrid(scored);
    const result = selectBlock(
      { drafts: this.drafts, q: (draft, position) => this.q[draft]![position]!, p },
      this.chance,
      { temperatureZero: this.temperatureZero, survivorTolerance: this.owner.tolerance },
    );
    return { result, decoded: this.decode(result, scored), drafted: k };
  }

  /** X_k[t] ~ q(. | c, X_k[<t]), t = 0..L-1, one batched round per t. */
  private async draftSampled(sequences: readonly LlamaContextSequence[], catchUp: readonly number[]): Promise<void> {
    for (let t = 0; t < this.l; t++) {
      const lead = leadsAt(this.drafts, t);
      const outputs = await Promise.all(sequences.map((sequence, k) => {
        const tokens = t === 0 ? catchUp : [this.drafts[k]![t - 1]!];
        return evaluateLast(sequence, tokens, lead[k] === k ? "probabilities" : undefined, this.distributionOptions);
      }));
      for (let k = 0; k < this.k; k++) {
        const q = lead[k] === k ? this.transform(rawOf(outputs[k]), this.drafts[k]!.slice(0, t), this.sampling) : this.q[lead[k]!]![t]!;
        this.q[k]![t] = q;
      }
      for (let k = 0; k < this.k; k++) this.drafts[k]!.push(this.chance.categorical(this.q[k]![t]!));
    }
  }

  /** The K most likely distinct first tokens of q(. | c), each continued greedily. */
  private async draftGreedy(sequences: readonly LlamaContextSequence[], catchUp: readonly number[]): Promise<void> {
    const rankFirst = this.k > 1 || !this.nativeDraft;
    const outputs = await Promise.all(sequences.map((sequence, k) =>
      evaluateLast(sequence, catchUp, k > 0 ? undefined : rankFirst ? "probabilities" : "token", this.distributionOptions)));
    let firsts: number[];
    if (rankFirst) {
      // Ranked after penalties and bias, without truncation: the greedy token first, then the next most likely.
      const ranking = { ...this.sampling, temperature: 1, topK: 0, topP: 1, minP: 0 };
      firsts = greedyFirstTokens(this.transform(rawOf(outputs[0]), [], ranking), this.k);
    } else {
      firsts = [tokenOf(outputs[0])];
    }
    this.k = firsts.length;
    this.drafts.length = this.k;
    firsts.forEach((token, k) => (this.drafts[k] = [token]));
    for (let t = 1; t < this.l; t++) {
      const next = await Promise.all(this.drafts.map((draft, k) =>
        evaluateLast(sequences[k]!, [draft[t - 1]!], this.nativeDraft ? "token" : "probabilities", this.distributionOptions)));
      next.forEach((output, k) => {
        const draft = this.drafts[k]!;
        draft.push(this.nativeDraft ? tokenOf(output) : onlyToken(this.transform(rawOf(output), draft, this.sampling)));
      });
    }
  }

  /** One batched round: target k evaluates its catch-up + X_k, scored where a prefix is first held. */
  private async verify(sequences: readonly LlamaContextSequence[], catchUp: readonly number[]): Promise<(Scored | undefined)[][]> {
    const leads = Array.from({ length: this.l + 1 }, (_, t) => leadsAt(this.drafts, t));
    const request: Request = this.nativeTarget ? "token" : "probabilities";
    const outputs = await Promise.all(sequences.map((sequence, k) => {
      const before = catchUp.length - 1;
      const items: ControlledEvaluateInputItem[] = [...catchUp, ...this.drafts[k]!].map((token, i) => {
        const t = i - before;
        return t >= 0 && leads[t]![k] === k ? withRequest(token, request, this.distributionOptions) : (token as Token);
      });
      return sequence.controlledEvaluate(items).then((results) => ({ results, before }));
    }));
    return outputs.map(({ results, before }, k) => Array.from({ length: this.l + 1 }, (_, t) => {
      if (leads[t]![k] !== k) return undefined;
      const output = results[before + t];
      return request === "token" ? { token: tokenOf(output) } : { raw: rawOf(output) };
    }));
  }

  /** p[k][t] after the transforms, computed when the selection reads it, once per distinct prefix. */
  private targetGrid(scored: (Scored | undefined)[][]): (draft: number, position: number) => SparseDistribution {
    const cache = new Map<number, SparseDistribution>();
    const leads = Array.from({ length: this.l + 1 }, (_, t) => leadsAt(this.drafts, t));
    return (draft, position) => {
      const lead = leads[position]![draft]!;
      const key = lead * (this.l + 1) + position;
      let p = cache.get(key);
      if (p === undefined) {
        const s = scored[lead]?.[position];
        if (s === undefined) throw new Error(`no target output for draft ${lead} at position ${position}`);
        p = "token" in s ? pointMass(s.token) : this.transform(s.raw, this.drafts[lead]!.slice(0, position), this.sampling);
        cache.set(key, p);
      }
      return p;
    };
  }

  private decode(result: SpectrBlockResult, scored: (Scored | undefined)[][]): DecodedToken[] {
    return result.tokens.map((token, t) => {
      if (this.state.logprobs === null) return { token, logprob: null, top: null };
      const prefix = result.tokens.slice(0, t);
      const lead = this.drafts.findIndex((draft) => prefix.every((y, i) => draft[i] === y));
      const s = scored[lead]?.[t];
      if (s === undefined || !("raw" in s)) return { token, logprob: null, top: null };
      return { token, logprob: safeLog(probabilityOf(s.raw, token)), top: topLogprobs(s.raw, this.state.logprobs) };
    });
  }

  /** applySampling with the generated history extended by the draft prefix, as a SparseDistribution. */
  private transform(raw: Distribution, prefix: readonly number[], sampling: SamplingParams): SparseDistribution {
    const history = prefix.length === 0 ? this.history : [...this.history, ...prefix];
    return toSparse(applySampling(raw, sampling, history));
  }
}

/**
 * leads[k] = the lowest index j whose first t tokens equal draft k's: the draft that scores
 * (and owns the distribution of) that prefix at position t.
 */
function leadsAt(drafts: readonly (readonly number[])[], t: number): number[] {
  const first = new Map<string, number>();
  return drafts.map((draft, k) => {
    const key = draft.slice(0, t).join(",");
    const lead = first.get(key);
    if (lead !== undefined) return lead;
    first.set(key, k);
    return k;
  });
}

function withRequest(token: number, request: Request, options: DistributionOptions): ControlledEvaluateInputItem {
  return [
    token as Token,
    { generateNext: request === "token" ? { token: true, options: { temperature: 0 } } : { probabilities: true, options } },
  ];
}

/** Evaluates `tokens` on one sequence, asking for the next token's distribution (or argmax) after the last. */
async function evaluateLast(sequence: LlamaContextSequence, tokens: readonly number[], request: Request | undefined, options: DistributionOptions): Promise<ControlledEvaluateIndexOutput | undefined> {
  const items: ControlledEvaluateInputItem[] = tokens.map((token) => token as Token);
  if (request !== undefined) items[items.length - 1] = withRequest(tokens[tokens.length - 1]!, request, options);
  const results = await sequence.controlledEvaluate(items);
  return results[tokens.length - 1];
}

function rawOf(output: ControlledEvaluateIndexOutput | undefined): Distribution {
  const probabilities = output?.next?.probabilities;
  if (probabilities === undefined) throw new Error("The model produced no distribution");
  return fromProbabilityMap(probabilities);
}

function tokenOf(output: ControlledEvaluateIndexOutput | undefined): number {
  const token = output?.next?.token;
  if (token == null) throw new Error("The model produced no token");
  return token;
}

function onlyToken(d: SparseDistribution): number {
  if (d.tokens.length !== 1) throw new Error("temperature 0 should leave one token");
  return d.tokens[0]!;
}

function pointMass(token: number): SparseDistribution {
  return { tokens: Int32Array.of(token), probs: Float64Array.of(1) };
}

/** A transformed Distribution (sorted by probability) as a SparseDistribution (sorted by token id). */
export function toSparse(d: Distribution): SparseDistribution {
  // Only a logit_bias of -100 on every token can empty a distribution (as draw() reports it).
  if (d.tokens.length === 0) throw invalidRequest("logit_bias excludes every token.", "logit_bias");
  let max = 0;
  for (const token of d.tokens) if (token > max) max = token;
  const dense = new Float64Array(max + 1).fill(-1);
  d.tokens.forEach((token, i) => (dense[token] = d.probs[i]!));
  const tokens = new Int32Array(d.tokens.length);
  const probs = new Float64Array(d.tokens.length);
  let j = 0;
  for (let token = 0; token <= max; token++) {
    const prob = dense[token]!;
    if (prob < 0) continue;
    tokens[j] = token;
    probs[j++] = prob;
  }
  return { tokens, probs };
}
