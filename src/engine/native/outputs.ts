/**
 * Evaluation with several native reads of each output: the one module that reaches into
 * node-llama-cpp's internals for decoding (pinned to 3.22.1; test/native-outputs.test.ts
 * checks every behaviour relied on here).
 *
 * Why: `controlledEvaluate` asks one question per output (one sampler configuration), forces a
 * top-k step into every chain (topK 0 becomes "the whole vocabulary", a full sort: ~7 ms at
 * 128k tokens), and returns distributions as a Map of every token (~50 ms at 128k). Exact
 * sampling under logprobs or speculation needs several cheap answers about one output: a
 * seeded draw under the request's chain, a few tokens' logits, the total weight. Each read
 * here is one native `sampleToken` call over llama.cpp's candidates, O(vocabulary) in C++
 * and O(answer) in JS.
 *
 * The decode itself is node-llama-cpp's own batching (`_decodeTokens`): concurrent
 * evaluations of sequences of one context share a llama.cpp batch. Reads of one call run one
 * after another on the sequence's native sampler; 3.22.1 serializes the output-row reordering
 * that made concurrent reads of one batch race in 3.21.1 (see bench/batch-race.ts).
 */
import type { LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { addonSamplerConfig, truncates, type ChainConfig } from "./chain.ts";

/** What to read from one output. */
export interface OutputQuery {
  readonly chain: ChainConfig;
  /** The selected token's probability among the chain's candidates. */
  readonly confidence?: boolean;
  /**
   * Post-chain probabilities of every candidate the chain leaves, highest first: only for
   * chains that truncate (see chain.ts `truncates`), else it lists the whole vocabulary.
   */
  readonly candidates?: boolean;
  /** Post-chain logits of these tokens (absent ones are not returned). */
  readonly logitsOf?: readonly number[];
  readonly includeSelected?: boolean;
  /** The n largest post-chain logits, highest first (cheap only when the chain has top-k >= n). */
  readonly top?: number;
  /** Sum over the candidates of exp(logit - max logit). */
  readonly totalWeight?: boolean;
}

export interface TokenList {
  readonly tokens: Int32Array;
  readonly values: Float64Array;
}

export interface OutputAnswer {
  /** The token the chain selected (null when every token is banned). */
  readonly token: number | null;
  readonly confidence?: number;
  readonly candidates?: TokenList;
  readonly logits?: TokenList;
  readonly totalWeight?: number;
}

/** Reads one output; valid only inside the task it is handed to. */
export interface OutputReader {
  read(query: OutputQuery): Promise<OutputAnswer>;
}

/** Runs after the decode, with the reader of one output; its result lands at the token's index. */
export type OutputTask<T> = (reader: OutputReader) => Promise<T>;

interface AddonSampler {
  applyConfig(config: Record<string, unknown>): void;
}

type SampleResult = [token: number, probabilities?: number[], confidence?: number, logits?: number[], totalWeight?: number];

interface SequenceInternals {
  model: LlamaModel & { _llama: { _bindings: { AddonSampler: new (model: unknown) => AddonSampler } }; _model: unknown };
  _context: { _ctx: { sampleToken(batchLogitIndex: number, sampler: AddonSampler, probabilities: boolean, confidence: boolean, logits: boolean | unknown[], totalWeight: boolean): Promise<SampleResult> } };
  _tokenMeter: unknown;
  _contextShift: { size: unknown; strategy: unknown };
  _takeIntervalCheckpointIfNeededAfterBatch: unknown;
  _ensureNotDisposed(): void;
  _decodeTokens(
    tokens: readonly number[],
    logits: (true | undefined)[],
    evaluationPriority: number,
    tokenMeter: unknown,
    contextShift: { size: unknown; strategy: unknown },
    logitDataMapper: (batchLogitIndex: number, tokenIndex: number) => Promise<unknown>,
    afterBatchAction: unknown,
  ): Promise<unknown[]>;
}

/** node-llama-cpp's default evaluation priority. */
const evaluationPriority = 5;

/**
 * Appends `tokens` to the sequence (one llama.cpp batch with whatever else its context is
 * decoding) and runs `outputs.get(i)` on the output after token i. Returns the tasks' results
 * by token index. The caller must not evaluate the same sequence concurrently.
 */
export async function evaluateWithOutputs<T>(sequence: LlamaContextSequence, tokens: readonly number[], outputs: ReadonlyMap<number, OutputTask<T>>): Promise<(T | undefined)[]> {
  if (tokens.length === 0) return [];
  const internals = sequence as unknown as SequenceInternals;
  internals._ensureNotDisposed();
  const wanted: (true | undefined)[] = [];
  for (const index of outputs.keys()) {
    if (index < 0 || index >= tokens.length) throw new RangeError(`output ${index} is outside the ${tokens.length} tokens evaluated`);
    wanted[index] = true;
  }
  const sampler = outputs.size > 0 ? samplerOf(sequence, internals) : undefined;
  let tail: Promise<unknown> = Promise.resolve();
  try {
    const results = await internals._decodeTokens(
      tokens,
      wanted,
      evaluationPriority,
      internals._tokenMeter,
      { size: internals._contextShift.size, strategy: internals._contextShift.strategy },
      (batchLogitIndex, tokenIndex) => {
        const task = outputs.get(tokenIndex);
        if (task === undefined || sampler === undefined) return Promise.resolve(undefined);
        const reader: OutputReader = { read: (query) => readOutput(internals, sampler, batchLogitIndex, query) };
        const run = tail.then(() => task(reader));
        tail = run.catch(() => undefined);
        return run;
      },
      internals._takeIntervalCheckpointIfNeededAfterBatch,
    );
    return results as (T | undefined)[];
  } finally {
    await tail;
  }
}

/**
 * One native sampler per sequence, kept for the sequence's life. A sampler holds a candidates
 * buffer the size of the vocabulary (3 MB at 256k tokens) that V8 does not see, so one per
 * call would pile up between collections.
 */
const samplers = new WeakMap<LlamaContextSequence, SequenceSampler>();

interface SequenceSampler {
  readonly addon: AddonSampler;
  /** The seed its draw step was last given (it restarts its random stream only on a new seed). */
  lastSeed: number | undefined;
}

function samplerOf(sequence: LlamaContextSequence, internals: SequenceInternals): SequenceSampler {
  let sampler = samplers.get(sequence);
  if (sampler === undefined) {
    sampler = { addon: new internals.model._llama._bindings.AddonSampler(internals.model._model), lastSeed: undefined };
    samplers.set(sequence, sampler);
  }
  return sampler;
}

/**
 * Applies a chain. llama.cpp's draw step restarts its random stream only when its seed changes,
 * so a draw seeded as the previous one would continue that stream instead: the sampler is first
 * given another seed, so the same seed always gives the same draw.
 */
function applyChain(sampler: SequenceSampler, chain: ChainConfig): void {
  const config = addonSamplerConfig(chain);
  const seed = config.seed as number | undefined;
  if (seed !== undefined && seed === sampler.lastSeed) sampler.addon.applyConfig({ ...config, seed: (seed ^ 1) >>> 0 });
  sampler.addon.applyConfig(config);
  if (seed !== undefined) sampler.lastSeed = seed;
}

async function readOutput(internals: SequenceInternals, sampler: SequenceSampler, batchLogitIndex: number, query: OutputQuery): Promise<OutputAnswer> {
  applyChain(sampler, query.chain);
  const wantsLogits = query.logitsOf !== undefined || query.includeSelected === true || (query.top ?? 0) > 0 || masksFirst(query);
  const logitsFilter = wantsLogits ? [query.logitsOf ?? [], false, false, query.includeSelected ?? false, query.top ?? 0] : false;
  const [token, candidates, confidence, logits, totalWeight] = await internals._context._ctx.sampleToken(
    batchLogitIndex,
    sampler.addon,
    query.candidates === true,
    query.confidence === true,
    logitsFilter,
    query.totalWeight === true,
  ).finally(() => {
    // The sampler keeps a native reference to the read's grammar state until its next config;
    // one left at exit can be finalized after the state it refers to (env teardown finalizes in
    // any order), so it is dropped at once.
    if (query.chain.grammar !== undefined) sampler.addon.applyConfig(addonSamplerConfig({ ...query.chain, grammar: undefined }));
  });
  return {
    token: token === -1 ? null : token,
    ...(confidence === undefined ? {} : { confidence }),
    ...(candidates === undefined ? {} : { candidates: tokenList(candidates) }),
    ...(logits === undefined ? {} : { logits: tokenList(logits) }),
    ...(totalWeight === undefined ? {} : { totalWeight }),
  };
}

/**
 * Whether the read must apply the grammar before the chain. node-llama-cpp applies it first only
 * when the read asks for logits, probabilities or confidence; otherwise it draws from the
 * unmasked chain and, when the grammar refuses the draw, draws again with the grammar first.
 * That has the masked law for argmax and for untruncated sampling (a draw kept with the
 * grammar's mass V, else redrawn: p(x) + (1 - V) p(x) / V = p(x) / V), but not under top-k,
 * top-p or min-p, which would truncate before the mask, nor for a total weight, which would be
 * the unmasked one. Those reads ask for an empty logits filter, which costs nothing more.
 */
function masksFirst(query: OutputQuery): boolean {
  return query.chain.grammar !== undefined && (truncates(query.chain) || query.totalWeight === true);
}

/** node-llama-cpp's flat [token, value, token, value, ...] as parallel typed arrays. */
function tokenList(flat: readonly number[]): TokenList {
  const n = flat.length >> 1;
  const tokens = new Int32Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    tokens[i] = flat[2 * i]!;
    values[i] = flat[2 * i + 1]!;
  }
  return { tokens, values };
}
