/**
 * The sequences one SpecTr choice works on: K target sequences (of the served model's context)
 * and K draft sequences (of a draft context), each holding some prefix of the accepted context,
 * possibly followed by draft tokens of an earlier block.
 *
 * node-llama-cpp 3.21.1 cannot copy a sequence's state into another (no seq_cp), so every
 * sequence evaluates the prompt itself; the first round's batch does that for all of them.
 */
import type { LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { SequencePool } from "../sequence-pool.ts";

/** Length of the longest common prefix of two token lists. */
export function sharedPrefixLength(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/**
 * Aligns sequences of one context with the accepted context for a batched round: each keeps
 * only the prefix that ALL of them share with `context` (and never the last context token,
 * whose output, the distribution after the context, the round needs: a sequence never keeps
 * that output between rounds), so all of them evaluate the same catch-up tokens, returned.
 *
 * Why the same length: llama.cpp splits a batch of several sequences into equal-length
 * micro-batches per sequence and reorders the outputs afterwards, lazily, inside the first
 * llama_get_logits_ith; node-llama-cpp reads the outputs of the sequences of a batch from
 * concurrent worker threads, so with unequal lengths some reads race with that reordering and
 * return another position's (or sequence's) distribution. Seen here as rare, non-deterministic
 * wrong tokens; sequences contributing equally many tokens never need the reordering. It costs
 * a survivor the re-evaluation of the few tokens it shared beyond the others.
 */
export async function alignSequences(sequences: readonly LlamaContextSequence[], context: readonly number[]): Promise<number[]> {
  if (sequences.length === 0) return context.slice(context.length - 1);
  const held = sequences.map((sequence) => sequence.contextTokens);
  const keep = Math.min(context.length - 1, ...held.map((tokens) => sharedPrefixLength(tokens, context)));
  await Promise.all(sequences.map((sequence, i) => {
    const length = held[i]!.length;
    return length > keep ? sequence.eraseContextTokenRanges([{ start: keep, end: length }]) : undefined;
  }));
  return context.slice(keep);
}

/** The target and draft sequences of one choice, and what releases them. */
export interface SpectrSequences {
  readonly targets: readonly LlamaContextSequence[];
  readonly drafts: readonly LlamaContextSequence[];
}

export interface SpectrLease extends SpectrSequences, AsyncDisposable {
  /** Clears every sequence's history and returns it to its pool (idempotent). */
  release(): Promise<void>;
}

/**
 * Leases K sequences from the target pool and K from the draft pool; `release` (or `await
 * using`) gives them back, cleared, whether the choice finished, failed or was cancelled.
 */
export function leaseSpectrSequences(targetPool: SequencePool, draftPool: SequencePool, k: number): SpectrLease {
  const targets = targetPool.take(k);
  let drafts: LlamaContextSequence[];
  try {
    drafts = draftPool.take(k);
  } catch (error) {
    void targetPool.give(targets);
    throw error;
  }
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => (released ??= Promise.all([targetPool.give(targets), draftPool.give(drafts)]).then(() => undefined));
  return { targets, drafts, release, [Symbol.asyncDispose]: release };
}

export interface DraftContextOptions {
  /** Sequences of each draft context: K per concurrent speculative choice; one context per entry. */
  sequencesPerContext: readonly number[];
  /** Tokens per sequence; at least the target's, so that a prompt fits in both. */
  contextSize: number;
  /** node-llama-cpp needs an explicit thread count; 1 on a small machine. */
  threads: number;
  batchSize: number;
}

/**
 * A draft model's contexts as a pool of sequences, leased like the target's. As many contexts
 * as the target has: evaluations are serialized per context, so drafting for choices on
 * different target contexts runs in parallel too.
 */
export async function createDraftPool(draft: LlamaModel, options: DraftContextOptions): Promise<SequencePool> {
  const contexts = await Promise.all(options.sequencesPerContext.map((sequences) => draft.createContext({
    contextSize: options.contextSize,
    sequences,
    threads: options.threads,
    batchSize: Math.min(options.batchSize, options.contextSize * sequences),
  })));
  return new SequencePool(...contexts);
}
