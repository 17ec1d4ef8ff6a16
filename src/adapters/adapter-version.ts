import type { ServedModel } from "../engine/served-model.ts";
import { Activity } from "../lifecycle/activity.ts";
import { versionLabel, type AdapterRecord } from "./registry.ts";

/**
 * One version of an adapter on this replica: its record and the ServedModel (own contexts on
 * the base's weights) requests run on. Requests hold it from the moment they resolve `model`
 * until their last byte; once retired (swapped out or unloaded) it frees its contexts after
 * the last hold ends, so in-flight requests finish on the version they started with.
 */
export class AdapterVersion {
  private readonly holds = new Activity();
  private released: Promise<void> | undefined;

  constructor(
    readonly record: AdapterRecord,
    readonly served: ServedModel,
    /** Frees the contexts, the adapter weights and the cache file. */
    private readonly release: () => Promise<void>,
  ) {}

  get label(): string {
    return versionLabel(this.record);
  }

  /** Counts one request until the returned function is called. */
  hold(): () => void {
    if (this.released !== undefined) throw new Error(`${this.label} is retired`);
    return this.holds.begin();
  }

  /** No new holds; resolves once every hold has ended and the resources are freed. */
  retire(): Promise<void> {
    this.released ??= this.holds.idle().then(this.release);
    return this.released;
  }
}
