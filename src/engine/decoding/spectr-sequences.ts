/**
 * The sequences one SpecTr choice works on: K target sequences (of the served model's context)
 * and K draft sequences (of a draft context), each holding some prefix of the accepted context,
 * possibly followed by draft tokens of an earlier block.
 *
 * The first block evaluates the prompt on one target and one draft sequence and copies that
 * state into the others (native/sequence-state.ts) rather than evaluating it K times.
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
 * Aligns sequences with the accepted context for a round: each keeps the longest prefix it
 * shares with `context` (never the last context token, whose output, the distribution after
 * the context, the round needs: a sequence never keeps that output between rounds) and gets
 * back the catch-up tokens it must evaluate, evaluated within the round's batched call.
 */
export async function alignSequences(sequences: readonly LlamaContextSequence[], context: readonly number[]): Promise<number[][]> {
  return Promise.all(sequences.map(async (sequence) => {
    const held = sequence.contextTokens;
    const keep = Math.min(context.length - 1, sharedPrefixLength(held, context));
    if (held.length > keep) await sequence.eraseContextTokenRanges([{ start: keep, end: held.length }]);
    return context.slice(keep);
  }));
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
 * as the target has, so that drafting for choices on different target contexts runs in
 * parallel like their targets.
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
