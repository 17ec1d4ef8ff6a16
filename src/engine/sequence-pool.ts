import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";

/**
 * The sequences of one or more contexts of a model, handed to requests. Concurrent
 * evaluations of sequences of one context share a llama.cpp batch; separate contexts decode
 * in parallel (each on its own threads), which is what uses a second CPU core when one thread
 * per context is fastest. A released sequence has its history cleared before anyone else can
 * take it.
 */
export class SequencePool {
  readonly contexts: readonly LlamaContext[];
  private readonly free: Map<LlamaContext, LlamaContextSequence[]>;
  private readonly owner = new Map<LlamaContextSequence, LlamaContext>();
  private leased = 0;
  private readonly listeners = new Set<() => void>();

  constructor(...contexts: LlamaContext[]) {
    if (contexts.length === 0) throw new Error("A sequence pool needs a context");
    this.contexts = contexts;
    this.free = new Map(contexts.map((context) => [context, Array.from({ length: context.totalSequences }, () => context.getSequence())]));
    for (const [context, sequences] of this.free) for (const sequence of sequences) this.owner.set(sequence, context);
  }

  /** Tokens one sequence can hold. */
  get contextSize(): number {
    return this.contexts[0]!.contextSize;
  }

  get size(): number {
    return this.contexts.reduce((sum, context) => sum + context.totalSequences, 0);
  }

  get available(): number {
    return this.size - this.leased;
  }

  get active(): number {
    return this.leased;
  }

  /** Takes from the least busy context first, so one request's samples share a batch when they can and requests spread over contexts. */
  take(count: number): LlamaContextSequence[] {
    if (count > this.available) throw new Error(`Asked for ${count} sequences, ${this.available} free`);
    const taken: LlamaContextSequence[] = [];
    const byFreeCount = [...this.free.values()].sort((a, b) => b.length - a.length);
    for (const sequences of byFreeCount) taken.push(...sequences.splice(0, count - taken.length));
    this.leased += count;
    return taken;
  }

  async give(sequences: readonly LlamaContextSequence[]): Promise<void> {
    await Promise.all(sequences.map((sequence) => sequence.clearHistory()));
    for (const sequence of sequences) this.free.get(this.owner.get(sequence)!)!.push(sequence);
    this.leased -= sequences.length;
    for (const listener of this.listeners) listener();
  }

  onRelease(listener: () => void): void {
    this.listeners.add(listener);
  }

  async dispose(): Promise<void> {
    for (const context of this.contexts) await context.dispose();
  }
}
