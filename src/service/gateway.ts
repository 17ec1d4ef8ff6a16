import type { Logger } from "pino";
import type { Config } from "../config/config.ts";
import type { Engine } from "../engine/engine.ts";
import type { ServedModel } from "../engine/served-model.ts";
import { Activity } from "../lifecycle/activity.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { modelNotFound, notReady, shuttingDown } from "../protocol/errors.ts";
import type { Scheduler } from "../scheduler/scheduler.ts";
import type { Store } from "../store/store.ts";

export type Lifecycle = "loading" | "ready" | "draining";

/** The serving state every route works against: models (once loaded), scheduler, store, metrics. */
export class Gateway {
  private loadedEngine: Engine | undefined;
  private stage: Lifecycle = "loading";
  /** Identifies this build and configuration in responses, as OpenAI's system_fingerprint does. */
  readonly fingerprint = "fp_spectr_gateway";
  /** HTTP requests not yet fully answered (a stream counts until its last byte). */
  readonly requests = new Activity();

  constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly metrics: Metrics,
    readonly scheduler: Scheduler,
    readonly store: Store,
  ) {}

  get lifecycle(): Lifecycle {
    return this.stage;
  }

  get engine(): Engine | undefined {
    return this.loadedEngine;
  }

  attach(engine: Engine): void {
    this.loadedEngine = engine;
    if (this.stage === "loading") this.stage = "ready";
  }

  drain(): void {
    this.stage = "draining";
    this.scheduler.startDraining();
  }

  model(id: string): ServedModel {
    if (this.stage === "draining") throw shuttingDown();
    if (this.loadedEngine === undefined) throw notReady();
    const model = this.loadedEngine.get(id);
    if (model === undefined) throw modelNotFound(id);
    return model;
  }

  activeSequences(): number {
    return this.loadedEngine?.activeSequences() ?? 0;
  }

  /** Usage per model, kept in the store so replicas add up (best effort: never fails a request). */
  recordUsage(model: string, promptTokens: number, completionTokens: number): void {
    Promise.all([
      this.store.increment(`usage:${model}:prompt_tokens`, promptTokens),
      this.store.increment(`usage:${model}:completion_tokens`, completionTokens),
    ]).catch((error: unknown) => this.logger.warn({ err: error }, "usage not recorded"));
  }
}
