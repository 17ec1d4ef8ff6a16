import type { Pool } from "./scheduler.ts";

/**
 * `size` interchangeable slots, for work that holds no model resource but must still be
 * admitted (reranking scores on the event loop): the scheduler lets `size` such requests run at
 * once, queues the next ones with every other waiter, and refuses with 429 past MAX_QUEUE.
 */
export class SlotPool implements Pool<number> {
  private readonly free: number[];
  private readonly listeners = new Set<() => void>();

  constructor(readonly size: number) {
    this.free = Array.from({ length: size }, (_, slot) => slot);
  }

  get available(): number {
    return this.free.length;
  }

  take(count: number): number[] {
    if (count > this.free.length) throw new Error(`Asked for ${count} slots, ${this.free.length} free`);
    return this.free.splice(0, count);
  }

  async give(slots: readonly number[]): Promise<void> {
    this.free.push(...slots);
    for (const listener of this.listeners) listener();
  }

  onRelease(listener: () => void): void {
    this.listeners.add(listener);
  }
}
