import type { ServedModel } from "../engine/served-model.ts";
import { versionLabel, type AdapterRecord } from "./registry.ts";

/**
 * One version of an adapter on this replica: its record and the ServedModel (own contexts on
 * the base's weights) requests run on. Requests hold it from the moment they resolve `model`
 * until their last byte; once retired (swapped out or unloaded) it frees its contexts after
 * the last hold ends, so in-flight requests finish on the version they started with.
 */
export class AdapterVersion {
  private holds = 0;
  private retired = false;
  private released: Promise<void> | undefined;
  private markDrained!: () => void;
  private readonly drained = new Promise<void>((resolve) => (this.markDrained = resolve));

  constructor(
    readonly record: AdapterRecord,
    readonly served: ServedModel,
    /** Frees the contexts, the adapter weights and the cache file. */
    private readonly release: () => Promise<void>,
  ) {}

  get label(): string {
    return versionLabel(this.record);
  }

  get inFlight(): number {
    return this.holds;
  }

  /** Counts one request until the returned function is called (once). */
  hold(): () => void {
    if (this.retired) throw new Error(`${this.label} is retired`);
    this.holds++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.holds--;
      if (this.retired && this.holds === 0) this.markDrained();
    };
  }

  /** No new holds; resolves once every hold has ended and the resources are freed. */
  retire(): Promise<void> {
    if (this.released !== undefined) return this.released;
    this.retired = true;
    if (this.holds === 0) this.markDrained();
    this.released = this.drained.then(this.release);
    return this.released;
  }
}
