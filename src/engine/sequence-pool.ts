import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";

/**
 * The sequences of one context, handed to requests. Sequences of one context evaluate in the
 * same llama.cpp batch, so concurrent requests share each decode. A released sequence has its
 * history cleared before anyone else can take it.
 */
export class SequencePool {
  private readonly free: LlamaContextSequence[];
  private leased = 0;
  private readonly listeners = new Set<() => void>();

  constructor(readonly context: LlamaContext) {
    this.free = Array.from({ length: context.totalSequences }, () => context.getSequence());
  }

  get size(): number {
    return this.context.totalSequences;
  }

  get available(): number {
    return this.free.length;
  }

  get active(): number {
    return this.leased;
  }

  take(count: number): LlamaContextSequence[] {
    if (count > this.free.length) throw new Error(`Asked for ${count} sequences, ${this.free.length} free`);
    this.leased += count;
    return this.free.splice(0, count);
  }

  async give(sequences: readonly LlamaContextSequence[]): Promise<void> {
    await Promise.all(sequences.map((sequence) => sequence.clearHistory()));
    this.free.push(...sequences);
    this.leased -= sequences.length;
    for (const listener of this.listeners) listener();
  }

  onRelease(listener: () => void): void {
    this.listeners.add(listener);
  }
}
