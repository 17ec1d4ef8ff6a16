import { setMaxListeners } from "node:events";
import type { Logger } from "pino";
import type { Adapters } from "../adapters/adapters.ts";
import { versionLabel, type AdapterRecord } from "../adapters/registry.ts";
import type { Config } from "../config/config.ts";
import type { Engine } from "../engine/engine.ts";
import type { FineTuning } from "../finetune/fine-tuning.ts";
import { Activity } from "../lifecycle/activity.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { Reranker } from "../rerank/reranker.ts";
import { modelNotFound, notReady, shutdownDeadline, shuttingDown } from "../protocol/errors.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import { SlotPool } from "../scheduler/slot-pool.ts";
import type { Store } from "../store/store.ts";
import { systemFingerprint } from "./fingerprint.ts";
import type { ModelHold } from "./model-hold.ts";

export type Lifecycle = "loading" | "ready" | "draining";

/** The serving state every route works against: models (once loaded), scheduler, store, metrics. */
export class Gateway {
  private loadedEngine: Engine | undefined;
  private loadedAdapters: Adapters | undefined;
  private loadedRerankers: ReadonlyMap<string, Reranker> = new Map();
  private stage: Lifecycle = "loading";
  /** Identifies this build and configuration in responses, as OpenAI's system_fingerprint does. */
  readonly fingerprint: string;
  /** HTTP requests not yet fully answered (a stream counts until its last byte). */
  readonly requests = new Activity();
  private readonly deadline = new AbortController();
  /** What rerank requests are admitted against: RERANK_CONCURRENCY score at once. */
  readonly rerankSlots: SlotPool;
  /** Files and jobs of the fine-tuning API (set by the server once the store is open). */
  fineTuning: FineTuning | undefined;

  constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly metrics: Metrics,
    readonly scheduler: Scheduler,
    readonly store: Store,
  ) {
    this.fingerprint = systemFingerprint(config);
    this.rerankSlots = new SlotPool(config.rerank.concurrency);
    // Every request in flight listens to it (linkSignals), so more than Node's warning threshold of 10 is normal.
    setMaxListeners(0, this.deadline.signal);
  }

  get lifecycle(): Lifecycle {
    return this.stage;
  }

  get engine(): Engine | undefined {
    return this.loadedEngine;
  }

  get adapters(): Adapters | undefined {
    return this.loadedAdapters;
  }

  attach(engine: Engine, adapters: Adapters): void {
    this.loadedEngine = engine;
    this.loadedAdapters = adapters;
    if (this.stage === "loading") this.stage = "ready";
  }

  /** Rerankers by id (model kind `ranking`); set before `attach` makes the gateway ready. */
  attachRerankers(rerankers: readonly Reranker[]): void {
    this.loadedRerankers = new Map(rerankers.map((reranker) => [reranker.id, reranker]));
  }

  get rerankers(): ReadonlyMap<string, Reranker> {
    return this.loadedRerankers;
  }

  /** The rerankers, or the 503 that says why none can serve now. */
  servingRerankers(): ReadonlyMap<string, Reranker> {
    this.servingEngine();
    return this.loadedRerankers;
  }

  drain(): void {
    this.stage = "draining";
    this.scheduler.startDraining();
  }

  /** Aborts, with the error to report, when shutdown's deadline passes; requests listen to it beside their client's signal. */
  get deadlineSignal(): AbortSignal {
    return this.deadline.signal;
  }

  /** Ends what is still running at shutdown's deadline: each request answers (or ends its stream with) `shutting_down`. */
  cutInFlight(): void {
    this.deadline.abort(shutdownDeadline(this.config.shutdownDeadlineMs));
  }

  /** The loaded engine, or the 503 that says why there is none to serve with. */
  servingEngine(): Engine {
    if (this.stage === "draining") throw shuttingDown();
    if (this.loadedEngine === undefined) throw notReady();
    return this.loadedEngine;
  }

  /** A served model or the current version of an adapter, held until the hold is disposed. */
  acquire(id: string): ModelHold {
    const model = this.servingEngine().get(id);
    if (model !== undefined) return { model, fingerprint: this.fingerprint, [Symbol.dispose]: () => undefined };
    const adapter = this.loadedAdapters?.current(id);
    if (adapter === undefined) throw modelNotFound(id);
    return { model: adapter.served, fingerprint: this.adapterFingerprint(adapter.record), [Symbol.dispose]: adapter.hold() };
  }

  /** The build's fingerprint and the adapter version: `fp_0123456789ab:name@v3`. */
  adapterFingerprint(record: AdapterRecord): string {
    return `${this.fingerprint}:${versionLabel(record)}`;
  }

  activeSequences(): number {
    return (this.loadedEngine?.activeSequences() ?? 0) + (this.loadedAdapters?.activeSequences() ?? 0);
  }

  activeDraftSequences(): number {
    return (this.loadedEngine?.activeDraftSequences() ?? 0) + (this.loadedAdapters?.activeDraftSequences() ?? 0);
  }
}
