import { Activity } from "../lifecycle/activity.ts";
import { linkSignals } from "../lifecycle/linked-signal.ts";
import { ApiError, ClientClosed, invalidRequest, queueFull, requestTimeout, shuttingDown } from "../protocol/errors.ts";

export interface SchedulerOptions {
  /** Requests allowed to wait for sequences; one more is refused with 429. */
  maxQueue: number;
  /** From arrival to the end of generation, queueing included. */
  timeoutMs: number;
  retryAfterSeconds: number;
}

/** What the scheduler admits against: a fixed number of interchangeable items (a model's sequences). */
export interface Pool<Item> {
  readonly size: number;
  readonly available: number;
  /** Takes `count` free items at once (never more than available). */
  take(count: number): Item[];
  /** Returns items, ready for the next holder. */
  give(items: readonly Item[]): Promise<void>;
  /** Called after every give, so waiters can be admitted. */
  onRelease(listener: () => void): void;
}

export interface Lease<Item> {
  items: Item[];
  /** Aborts when the client disconnects or the request times out; reason is the error to report. */
  signal: AbortSignal;
  queuedSeconds: number;
}

interface Waiter {
  pool: Pool<unknown>;
  count: number;
  /** Takes the sequences synchronously, so no later arrival can take them first. */
  admit: () => void;
}

/**
 * Admission control: a request runs once its pool has enough free items (a model's sequences), waits in a
 * bounded FIFO queue otherwise, and is refused (429 with Retry-After) when the queue is full.
 * Owns per-request timeouts, cancellation on disconnect, and draining at shutdown.
 */
export class Scheduler {
  private readonly queue: Waiter[] = [];
  private readonly inFlight = new Activity();
  private isDraining = false;
  private readonly watchedPools = new WeakSet<Pool<unknown>>();

  constructor(private readonly options: SchedulerOptions) {}

  get waiting(): number {
    return this.queue.length;
  }

  get running(): number {
    return this.inFlight.count - this.queue.length;
  }

  async run<Item, T>(pool: Pool<Item>, count: number, clientSignal: AbortSignal, work: (lease: Lease<Item>) => Promise<T>): Promise<T> {
    if (this.isDraining) throw shuttingDown();
    if (count > pool.size) throw invalidRequest(`This request needs ${count} parallel sequences; the model serves at most ${pool.size}.`, "n");
    this.watch(pool as Pool<unknown>);
    // An explicit timer rather than AbortSignal.timeout: a timeout signal that only
    // AbortSignal.any refers to can be garbage-collected before it fires (seen here as a
    // 100 ms deadline that never came), and the request would then never time out.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.options.timeoutMs);
    // linkSignals rather than AbortSignal.any, which leaks on Node 20 (see linked-signal.ts).
    using linked = linkSignals([clientSignal, deadline.signal]);
    const signal = linked.signal;
    const arrived = performance.now();
    const end = this.inFlight.begin();
    try {
      const items = await this.admit(pool, count, signal);
      try {
        return await work({ items, signal: mappedAbort(signal, clientSignal, this.options.timeoutMs), queuedSeconds: (performance.now() - arrived) / 1000 });
      } finally {
        await pool.give(items);
      }
    } catch (error) {
      throw signal.aborted ? abortError(clientSignal, this.options.timeoutMs) : error;
    } finally {
      clearTimeout(timer);
      end();
    }
  }

  /** Refuse new requests from now on (in-flight and queued ones carry on). */
  startDraining(): void {
    this.isDraining = true;
  }

  /** Resolves true once no request holds or awaits sequences, false if the deadline passes first. */
  waitForIdle(deadlineMs: number): Promise<boolean> {
    return this.inFlight.waitForIdle(deadlineMs);
  }

  private admit<Item>(pool: Pool<Item>, count: number, signal: AbortSignal): Promise<Item[]> {
    const ahead = this.queue.some((waiter) => waiter.pool === pool);
    if (!ahead && pool.available >= count) return Promise.resolve(pool.take(count));
    if (this.queue.length >= this.options.maxQueue) return Promise.reject(queueFull(this.options.retryAfterSeconds));
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        pool: pool as Pool<unknown>,
        count,
        admit: () => {
          signal.removeEventListener("abort", onAbort);
          resolve(pool.take(count));
        },
      };
      const onAbort = (): void => {
        this.queue.splice(this.queue.indexOf(waiter), 1);
        reject(signal.reason);
        this.pump(pool);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  /** Admits waiters of `pool` in arrival order while its free sequences allow. */
  private pump(pool: Pool<unknown>): void {
    for (let i = 0; i < this.queue.length; ) {
      const waiter = this.queue[i]!;
      if (waiter.pool !== pool) {
        i++;
        continue;
      }
      if (pool.available < waiter.count) return;
      this.queue.splice(i, 1);
      waiter.admit();
    }
  }

  private watch(pool: Pool<unknown>): void {
    if (this.watchedPools.has(pool)) return;
    this.watchedPools.add(pool);
    pool.onRelease(() => this.pump(pool));
  }
}

/** The signal handed to work, whose reason says why it aborted (client gone or timeout). */
function mappedAbort(signal: AbortSignal, clientSignal: AbortSignal, timeoutMs: number): AbortSignal {
  const controller = new AbortController();
  const forward = (): void => controller.abort(abortError(clientSignal, timeoutMs));
  if (signal.aborted) forward();
  else signal.addEventListener("abort", forward, { once: true });
  return controller.signal;
}

function abortError(clientSignal: AbortSignal, timeoutMs: number): Error {
  // The server may abort a request itself (shutdown's deadline) with the error to report.
  if (clientSignal.aborted) return clientSignal.reason instanceof ApiError ? clientSignal.reason : new ClientClosed();
  return requestTimeout(timeoutMs);
}
