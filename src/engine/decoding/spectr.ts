/**
 * SpecTr decoding (Sun et al., NeurIPS 2023; /work/shared/papers/spectr.md) for ONE choice, on
 * K target sequences and K draft sequences (spectr-sequences.ts). p = target, q = draft, both
 * the laws of the request's native chain (native/chain.ts), exactly as plain decoding draws.
 *
 * One block from the accepted context c (prompt + generated tokens):
 * 1. Align: each sequence keeps the prefix it shares with c; what it lacks (at least the last
 *    token of c) is evaluated within the block's first call on it.
 * 2. Draft, L steps: step t is one round over the K draft sequences (their evaluations share a
 *    llama.cpp batch). Draft k evaluates its catch-up (t = 0) or its previous token and draws
 *    X_k[t] ~ q(. | c, X_k[<t]) natively (history c's generated tokens + X_k[<t]).
 * 3. Verify: one round; target k evaluates its catch-up + X_k[0..L-1], read at t = 0..L.
 * 4. Select: selectBlock (kernels/spectr) emits 1..L+1 tokens distributed exactly as the
 *    target's continuation of c.
 * Distributions are read once per distinct prefix (drafts that agree on X[<t] share q and p at
 * t; the selection reads the lowest-indexed survivor's, that prefix's first holder).
 *
 * How p and q reach K-SEQ without copying a vocabulary into JS, by temperature and chain:
 * - temperature 0: drafts are the K most likely DISTINCT first tokens (a top-K read after bias
 *   and penalties) continued greedily; p is the target's argmax; the output is plain greedy
 *   decoding's, byte for byte.
 * - a truncating chain (top-k, top-p or min-p): the chain leaves few candidates, read with
 *   their probabilities: p and q are explicit.
 * - otherwise, head and tail: q is read on its `headSize` most likely tokens H, the rest of
 *   the vocabulary lumped into one outcome TAIL (mass 1 - q(H), from the total weight); p is
 *   read on the same H (native/reads.ts logitsOf), its tail likewise. K-SEQ on these lumped laws emits a token of H, or
 *   TAIL, exactly with probability p(TAIL); TAIL ends the block and the token is then drawn
 *   natively from p with H banned, i.e. from p conditioned on the tail. The composition is p.
 *   H depends on q alone (never on the drafts), so drafts mapped into the lumped space are
 *   still i.i.d. draws from lumped q. Acceptance loses only what p and q disagree on inside
 *   the tail.
 * The bonus token (all L positions kept a survivor) is drawn natively from p at position L.
 * With logprobs at temperature > 0 a choice decodes plainly (the emitted token's raw logprob
 * is read from its own output).
 */
import type { LlamaContextSequence } from "node-llama-cpp";
import { uniformChance, type Chance, type SparseDistribution } from "../../../kernels/kseq/index.ts";
import { selectBlock, type SpectrBlockResult } from "../../../kernels/spectr/index.ts";
import { truncates, type ChainConfig } from "../native/chain.ts";
import { evaluateWithOutputs, type OutputReader, type OutputTask, type TokenList } from "../native/outputs.ts";
import { checkDrawn, drawToken, logitsOf, rawLogprobs } from "../native/reads.ts";
import type { GrammarState } from "../native/grammar-state.ts";
import { copySequenceState } from "../native/sequence-state.ts";
import { argmaxChain, chainFor, headChain, nextSeed } from "../sampling/chain-for.ts";
import { plainToken } from "./plain.ts";
import { alignSequences, sharedPrefixLength, type SpectrSequences } from "./spectr-sequences.ts";
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
  /** The wall time of one step of `shape` (L = 0: a plain step), reads and bookkeeping included. */
  observeTime?(shape: SpeculationShape, ms: number, temperatureZero: boolean): void;
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
  /** Serial target rounds: one per block, one per plain or tail step. */
  targetCalls: number;
  /** Batched draft rounds (L per block). */
  draftCalls: number;
  /** Draft tokens proposed: K x L per block. */
  draftedTokens: number;
  /** Emitted tokens that a draft held (accepted, or the same token drawn from the residual). */
  acceptedTokens: number;
  /** Tokens emitted (the generation loop may drop some after a stop). */
  emittedTokens: number;
  /** reachedByPosition[t]: blocks that evaluated draft position t; acceptedByPosition[t]: of those, blocks that kept a draft there. */
  reachedByPosition: number[];
  acceptedByPosition: number[];
}

export interface SpectrDecodingOptions extends SpectrSequences {
  policy: SpeculationPolicy;
  /** The target's vocabulary size: the id of the lumped tail outcome. */
  vocabularySize: number;
  /** Tokens read explicitly per head-and-tail distribution (default 256). */
  headSize?: number;
}

/** How a block reads p and q (see the module comment). */
type Mode = "greedy" | "explicit" | "lumped";

const defaultHeadSize = 256;

/**
 * A stateful strategy for one choice: create one per choice, pass it to generateChoice. It
 * reads `state.target` only on the first call, for the prompt tokens already in it.
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
  /** Whether this choice's last step speculated (undefined before its first). */
  private lastSpeculated: boolean | undefined;
  private readonly targets: readonly LlamaContextSequence[];
  private readonly drafts: readonly LlamaContextSequence[];
  private readonly policy: SpeculationPolicy;
  /** @internal */ readonly tail: number;
  /** @internal */ readonly headSize: number;

  constructor(options: SpectrDecodingOptions) {
    if (options.targets.length < 1) throw new RangeError("SpecTr needs at least one target sequence");
    this.targets = options.targets;
    this.drafts = options.drafts;
    this.policy = options.policy;
    this.tail = options.vocabularySize;
    this.headSize = options.headSize ?? defaultHeadSize;
  }

  async next(input: readonly number[], state: DecodingState): Promise<DecodedToken[]> {
    if (this.prompt === undefined) {
      this.prompt = [...state.target.contextTokens, ...input];
      await this.sharePrompt();
    }
    const started = performance.now();
    const temperatureZero = state.sampling.temperature === 0;
    const wanted = this.policy.shape(temperatureZero);
    const l = this.drafts.length === 0 || (state.logprobs !== null && !temperatureZero) ? 0 : wanted.l;
    const k = l === 0 ? 1 : Math.max(1, Math.min(wanted.k, this.targets.length, this.drafts.length));
    const decoded = await this.step([...this.prompt, ...state.history], state, k, l, temperatureZero);
    // Timed only in steady decoding: the first step after a switch between plain and speculative
    // steps catches the other sequences up on the tokens they missed, which staying would not.
    if (this.lastSpeculated === l > 0) this.policy.observeTime?.({ k, l }, performance.now() - started, temperatureZero);
    this.lastSpeculated = l > 0;
    return decoded;
  }

  /** One plain step (L = 0) or one block of K drafts of length L, with its tail draw when it ends in TAIL. */
  private async step(context: readonly number[], state: DecodingState, k: number, l: number, temperatureZero: boolean): Promise<DecodedToken[]> {
    if (l === 0) return [await this.plainStep(context, state, [])];
    const mode: Mode = temperatureZero ? "greedy" : truncates(chainFor(state.sampling, [], 0)) ? "explicit" : "lumped";
    const block = new Block(this, state, context, k, l, mode);
    const { result, decoded, drafted, tailHead } = await block.run();
    this.record(result, drafted, { k, l }, temperatureZero);
    if (tailHead === undefined) return decoded;
    // The block emitted TAIL: draw that token from p with the head banned (p given the tail).
    const emitted = decoded.map((d) => d.token);
    const after = { ...state, history: [...state.history, ...emitted], ...(state.grammar === undefined ? {} : { grammar: state.grammar.after(emitted) }) };
    const token = await this.plainStep([...context, ...emitted], after, tailHead);
    return [...decoded, token];
  }

  /**
   * The prompt (all but its last token) is evaluated once on the first target and draft
   * sequences and copied into the others of the same context; the first block then aligns
   * every sequence with nothing to catch up but the last token.
   */
  private async sharePrompt(): Promise<void> {
    const prompt = this.prompt!;
    const held = prompt.length - 1;
    const [leadTarget] = await alignSequences([this.targets[0]!], prompt);
    const [leadDraft] = this.drafts.length > 0 ? await alignSequences([this.drafts[0]!], prompt) : [];
    await Promise.all([
      evaluateWithOutputs(this.targets[0]!, leadTarget!.slice(0, -1), new Map()),
      leadDraft === undefined ? undefined : evaluateWithOutputs(this.drafts[0]!, leadDraft.slice(0, -1), new Map()),
    ]);
    const lacking = (sequence: LlamaContextSequence): boolean => sharedPrefixLength(sequence.contextTokens, prompt) < held;
    for (const sequence of this.targets.slice(1).filter(lacking)) await copySequenceState(sequence, this.targets[0]!, held);
    for (const sequence of this.drafts.slice(1).filter(lacking)) await copySequenceState(sequence, this.drafts[0]!, held);
  }

  /** A plain step on the first target sequence (L = 0, or the tail draw after a block). */
  private async plainStep(context: readonly number[], state: DecodingState, banned: readonly number[]): Promise<DecodedToken> {
    const target = this.targets[0]!;
    const [catchUp] = await alignSequences([target], context);
    const decoded = await plainToken(catchUp!, { ...state, target }, banned);
    this.figures.blocks += banned.length === 0 ? 1 : 0;
    this.figures.targetCalls++;
    this.figures.emittedTokens++;
    return decoded;
  }

  /** @internal the sequences a block uses. */
  sequences(k: number): { targets: readonly LlamaContextSequence[]; drafts: readonly LlamaContextSequence[] } {
    return { targets: this.targets.slice(0, k), drafts: this.drafts.slice(0, k) };
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

/** What the target's read at one verified position gave. */
interface Verified {
  /** p, lumped or explicit; absent at temperature 0 and at the bonus position. */
  p?: SparseDistribution;
  /** The argmax (temperature 0) or a native draw from p (the bonus candidate). */
  token: number;
  /** Raw logprob details for the argmax (temperature 0 with logprobs). */
  decoded?: DecodedToken;
}

/** What the draft's read at one position gave. */
interface Drafted {
  token: number;
  /** q, lumped or explicit, for the draft that leads its prefix. */
  q?: SparseDistribution;
  /** The head H the lumped q was read on. */
  head?: Int32Array;
}

/** One SpecTr block: align, draft, verify, select. */
class Block {
  private readonly chance: Chance;
  private readonly drafts: number[][];
  /** Per draft k and position t, its lead's reads (leads own them). */
  private readonly draftReads: (Drafted | undefined)[][];
  private readonly grammarStates = new Map<string, GrammarState>();

  constructor(
    private readonly owner: SpectrDecoding,
    private readonly state: DecodingState,
    private readonly context: readonly number[],
    private k: number,
    private readonly l: number,
    private readonly mode: Mode,
  ) {
    this.chance = uniformChance(() => state.random.next());
    this.drafts = Array.from({ length: k }, () => []);
    this.draftReads = Array.from({ length: k }, () => []);
  }

  async run(): Promise<{ result: SpectrBlockResult; decoded: DecodedToken[]; drafted: number; tailHead: number[] | undefined }> {
    const { targets, drafts } = this.owner.sequences(this.k);
    const [targetCatchUp, draftCatchUp] = await Promise.all([alignSequences(targets, this.context), alignSequences(drafts, this.context)]);
    if (this.mode === "greedy") await this.draftGreedy(drafts, draftCatchUp);
    else await this.draftSampled(drafts, draftCatchUp);
    const k = this.k; // the greedy draft may use fewer drafts than asked for
    const verified = await this.verify(targets.slice(0, k), targetCatchUp);
    const leads = Array.from({ length: this.l + 1 }, (_, t) => leadsAt(this.drafts, t));
    const tail = this.owner.tail;
    const p = (draft: number, t: number): SparseDistribution => {
      const read = verified[leads[t]![draft]!]![t]!;
      return read.p ?? pointMass(read.token);
    };
    const q = (draft: number, t: number): SparseDistribution => this.draftReads[leads[t]![draft]!]![t]!.q!;
    // Lumped: a draft token outside its prefix's head is the TAIL outcome.
    const selectable = this.mode !== "lumped" ? this.drafts : this.drafts.map((draft, i) => draft.map((token, t) => {
      const head = this.draftReads[leads[t]![i]!]![t]!.head!;
      return head.includes(token) ? token : tail;
    }));
    const result = selectBlock(
      { drafts: selectable, q: this.mode === "greedy" ? undefined : q, p },
      this.chance,
      { temperatureZero: this.mode === "greedy", survivorTolerance: Infinity, ...(this.mode === "lumped" ? { stopToken: tail } : {}) },
    );
    const last = result.tokens.length - 1;
    if (this.mode === "lumped" && result.tokens[last] === tail) {
      const owner = leads[last]![leadFor(this.drafts, result.tokens.slice(0, last))]!;
      const head = this.draftReads[owner]![last]!.head!;
      return { result, decoded: this.decode(result.tokens.slice(0, last), verified, leads), drafted: k, tailHead: Array.from(head) };
    }
    return { result, decoded: this.decode(result.tokens, verified, leads), drafted: k, tailHead: undefined };
  }

  /**
   * The chain for draft or target k at position t: history c's generated tokens + its own draft
   * prefix, and under a grammar the state after that prefix, so p and q are both the masked laws.
   */
  private chainAt(prefix: readonly number[], seed: number): ChainConfig {
    const history = prefix.length === 0 ? this.state.history : [...this.state.history, ...prefix];
    return chainFor(this.state.sampling, history, seed, [], this.grammarAfter(prefix));
  }

  /** The grammar state after the accepted context and `prefix` (kept per prefix for the block; the choice's own never moves here). */
  private grammarAfter(prefix: readonly number[]): GrammarState | undefined {
    const root = this.state.grammar;
    if (root === undefined || prefix.length === 0) return root;
    const key = prefix.join(",");
    let state = this.grammarStates.get(key);
    if (state === undefined) {
      state = this.grammarAfter(prefix.slice(0, -1))!.after(prefix.slice(-1));
      this.grammarStates.set(key, state);
    }
    return state;
  }

  /** X_k[t] ~ q(. | c, X_k[<t]), t = 0..L-1, one round per t; leads of a prefix read q. */
  private async draftSampled(sequences: readonly LlamaContextSequence[], catchUp: readonly number[][]): Promise<void> {
    for (let t = 0; t < this.l; t++) {
      const lead = leadsAt(this.drafts, t);
      const seeds = sequences.map(() => nextSeed(this.state.random));
      const reads = await Promise.all(sequences.map((sequence, k) => {
        const tokens = t === 0 ? catchUp[k]! : [this.drafts[k]![t - 1]!];
        const chain = this.chainAt(this.drafts[k]!.slice(0, t), seeds[k]!);
        return evaluateLast(sequence, tokens, lead[k] === k ? (reader) => this.readDraft(reader, chain) : async (reader) => ({ token: await drawToken(reader, chain) }));
      }));
      reads.forEach((read, k) => {
        this.drafts[k]!.push(read.token);
        this.draftReads[k]![t] = lead[k] === k ? read : undefined;
      });
    }
  }

  private async readDraft(reader: OutputReader, chain: ChainConfig): Promise<Drafted> {
    if (this.mode === "explicit") {
      const read = await reader.read({ chain, candidates: true });
      return { token: checkDrawn(read.token), q: sparseOf(read.candidates!) };
    }
    const whole = await reader.read({ chain, totalWeight: true });
    const head = await reader.read({ chain: headChain(chain, this.owner.headSize), top: this.owner.headSize });
    const logits = allowed(head.logits!);
    return { token: checkDrawn(whole.token), q: lumped(logits, logits.values[0]!, whole.totalWeight!, this.owner.tail), head: logits.tokens };
  }

  /** The K most likely distinct first tokens of q(. | c) (after bias and penalties), each continued greedily. */
  private async draftGreedy(sequences: readonly LlamaContextSequence[], catchUp: readonly number[][]): Promise<void> {
    const base = this.chainAt([], 0);
    const firstRead: OutputTask<number[]> = this.k > 1
      ? async (reader) => Array.from(allowed((await reader.read({ chain: headChain(base, this.k), top: this.k })).logits!).tokens)
      : async (reader) => [await drawToken(reader, base)];
    const [firsts] = await Promise.all(sequences.map((sequence, k) => evaluateLast<number[]>(sequence, catchUp[k]!, k === 0 ? firstRead : undefined)));
    this.k = Math.max(1, Math.min(this.k, firsts!.length));
    this.drafts.length = this.k;
    firsts!.slice(0, this.k).forEach((token, k) => (this.drafts[k] = [token]));
    for (let t = 1; t < this.l; t++) {
      const next = await Promise.all(this.drafts.map((draft, k) =>
        evaluateLast(sequences[k]!, [draft[t - 1]!], (reader) => drawToken(reader, this.chainAt(draft, 0)))));
      next.forEach((token, k) => this.drafts[k]!.push(token!));
    }
  }

  /** One round: target k evaluates its catch-up + X_k, read at the positions whose prefix it leads. */
  private async verify(sequences: readonly LlamaContextSequence[], catchUp: readonly number[][]): Promise<Verified[][]> {
    const leads = Array.from({ length: this.l + 1 }, (_, t) => leadsAt(this.drafts, t));
    const seeds = sequences.map(() => Array.from({ length: this.l + 1 }, () => (this.mode === "greedy" ? 0 : nextSeed(this.state.random))));
    const results = await Promise.all(sequences.map((sequence, k) => {
      const before = catchUp[k]!.length - 1;
      const outputs = new Map<number, OutputTask<Verified>>();
      for (let t = 0; t <= this.l; t++) {
        if (leads[t]![k] !== k) continue;
        const chain = this.chainAt(this.drafts[k]!.slice(0, t), seeds[k]![t]!);
        const head = t < this.l ? this.draftReads[k]![t]?.head : undefined;
        outputs.set(before + t, (reader) => this.readTarget(reader, chain, t === this.l, head));
      }
      return evaluateWithOutputs(sequence, [...catchUp[k]!, ...this.drafts[k]!], outputs).then((read) => ({ read, before }));
    }));
    return results.map(({ read, before }) => Array.from({ length: this.l + 1 }, (_, t) => read[before + t]!));
  }

  private async readTarget(reader: OutputReader, chain: ChainConfig, bonus: boolean, head: Int32Array | undefined): Promise<Verified> {
    if (this.mode === "greedy") {
      const token = await drawToken(reader, chain);
      if (this.state.logprobs === null) return { token };
      const raw = await rawLogprobs(reader, [token], this.state.logprobs, chain.grammar);
      return { token, decoded: { token, logprob: raw.of(token), top: raw.top } };
    }
    if (bonus) return { token: await drawToken(reader, chain) };
    if (this.mode === "explicit") {
      const read = await reader.read({ chain, candidates: true });
      return { token: checkDrawn(read.token), p: sparseOf(read.candidates!) };
    }
    const whole = await reader.read({ chain, totalWeight: true });
    const argmax = await reader.read({ chain: argmaxChain(chain), includeSelected: true });
    const max = argmax.logits!.values[argmax.logits!.tokens.indexOf(checkDrawn(argmax.token))]! / chain.temperature;
    return { token: checkDrawn(whole.token), p: lumped(await logitsOf(reader, chain, Array.from(head!)), max, whole.totalWeight!, this.owner.tail) };
  }

  private decode(tokens: readonly number[], verified: Verified[][], leads: number[][]): DecodedToken[] {
    return tokens.map((token, t) => {
      if (this.state.logprobs === null) return { token, logprob: null, top: null };
      const lead = leads[t]![leadFor(this.drafts, tokens.slice(0, t))]!;
      return verified[lead]![t]!.decoded ?? { token, logprob: null, top: null };
    });
  }
}

/**
 * leads[k] = the lowest index j whose first t tokens equal draft k's: the draft that reads
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

/** The first draft holding `prefix` (emitted tokens are always some draft's prefix). */
function leadFor(drafts: readonly (readonly number[])[], prefix: readonly number[]): number {
  const found = drafts.findIndex((draft) => prefix.every((token, i) => draft[i] === token));
  return Math.max(0, found);
}

/** Evaluates `tokens` on one sequence and runs `task` on the output after the last. */
async function evaluateLast<T>(sequence: LlamaContextSequence, tokens: readonly number[], task: OutputTask<T> | undefined): Promise<T> {
  const outputs = new Map<number, OutputTask<T>>();
  if (task !== undefined) outputs.set(tokens.length - 1, task);
  const results = await evaluateWithOutputs(sequence, tokens, outputs);
  return results[tokens.length - 1] as T;
}

/**
 * A top-k list without the tokens the grammar masked (logit -Infinity): a grammar may allow
 * fewer tokens than were asked for, and a draft must never propose a token it refuses.
 */
function allowed(list: TokenList): TokenList {
  const kept = Array.from(list.values.keys()).filter((i) => list.values[i]! > -Infinity);
  if (kept.length === list.values.length) return list;
  return { tokens: Int32Array.from(kept, (i) => list.tokens[i]!), values: Float64Array.from(kept, (i) => list.values[i]!) };
}

/** The chain's candidates with their probabilities (highest first) as a SparseDistribution (by token id). */
function sparseOf(candidates: TokenList): SparseDistribution {
  const order = Array.from(candidates.tokens.keys()).sort((a, b) => candidates.tokens[a]! - candidates.tokens[b]!);
  const probs = Float64Array.from(order, (i) => candidates.values[i]!);
  const mass = probs.reduce((a, b) => a + b, 0);
  return { tokens: Int32Array.from(order, (i) => candidates.tokens[i]!), probs: probs.map((p) => p / mass) };
}

/**
 * A distribution read on a head of tokens: exp(logit - max) / total for each, the rest of the
 * vocabulary as the `tail` outcome (its id, larger than every token's, sorts last).
 */
export function lumped(head: TokenList, max: number, total: number, tail: number): SparseDistribution {
  const order = Array.from(head.tokens.keys()).sort((a, b) => head.tokens[a]! - head.tokens[b]!);
  const tokens = new Int32Array(order.length + 1);
  const probs = new Float64Array(order.length + 1);
  let mass = 0;
  order.forEach((i, j) => {
    tokens[j] = head.tokens[i]!;
    probs[j] = Math.exp(head.values[i]! - max) / total;
    mass += probs[j]!;
  });
  tokens[order.length] = tail;
  probs[order.length] = Math.max(0, 1 - mass);
  const normaliser = mass + probs[order.length]!;
  for (let j = 0; j < probs.length; j++) probs[j] = probs[j]! / normaliser;
  return { tokens, probs };
}

function pointMass(token: number): SparseDistribution {
  return { tokens: Int32Array.of(token), probs: Float64Array.of(1) };
}
