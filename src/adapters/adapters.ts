import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { GgufLayout } from "../../kernels/gguf/types.ts";
import type { Config } from "../config/config.ts";
import { modelLayout } from "../engine/model-layout.ts";
import type { ServedModel } from "../engine/served-model.ts";
import { invalidRequest, modelNotFound } from "../protocol/errors.ts";
import type { Store } from "../store/store.ts";
import { AdapterCache, sha256Hex } from "./adapter-cache.ts";
import { checkAdapter } from "./adapter-check.ts";
import { readAdapterFile } from "./adapter-file.ts";
import { AdapterVersion } from "./adapter-version.ts";
import { AdapterRegistry, versionLabel, type AdapterRecord } from "./registry.ts";

/** A version that could not be built is tried again after this long (a store hiccup heals; a bad file logs once per interval). */
const retryFailedMs = 5_000;

export type AdapterOptions = Pick<Config, "adaptersDir" | "adapterMaxBytes" | "adapterCacheDir" | "adapterSyncMs">;

export interface LoadRequest {
  name: string;
  /** As the client sent it; resolved inside ADAPTERS_DIR. */
  loraPath: string;
  scale: number;
}

/**
 * LoRA adapters on one replica, kept in line with the shared registry. A load validates the
 * file, stores its bytes, builds the new version here and only then publishes the record;
 * every replica polls the registry's epoch and builds (or retires) versions to match it.
 * Loads, unloads and syncs run one at a time, so this replica never builds a version twice.
 */
export class Adapters {
  private readonly live = new Map<string, AdapterVersion>();
  private readonly retiring = new Set<Promise<void>>();
  /** Versions this replica could not build (bad bytes, missing blob, store hiccup), by when: retried after retryFailedMs. */
  private readonly failed = new Map<string, number>();
  private seenEpoch = -1;
  /** The registry lifetime this replica last saw (AdapterRegistry.generation). */
  private generation: string | undefined;
  /** The highest version of each name this replica has served: a registry that lost its counters continues above it. */
  private readonly highestVersion = new Map<string, number>();
  private syncFailing = false;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private syncing = false;
  private layout: GgufLayout | undefined;

  constructor(
    private readonly options: AdapterOptions,
    /** The model adapters apply to (the first served model). */
    private readonly base: ServedModel,
    /** Ids adapters may not take (the served models'). */
    private readonly reservedIds: ReadonlySet<string>,
    private readonly registry: AdapterRegistry,
    private readonly cache: AdapterCache,
    private readonly logger: Logger,
  ) {}

  static async open(options: AdapterOptions, base: ServedModel, reservedIds: ReadonlySet<string>, store: Store, logger: Logger): Promise<Adapters> {
    return new Adapters(options, base, reservedIds, new AdapterRegistry(store), await AdapterCache.open(options.adapterCacheDir), logger);
  }

  /** The version new requests for `name` get, if it is loaded here. */
  current(name: string): AdapterVersion | undefined {
    return this.live.get(name);
  }

  versions(): AdapterVersion[] {
    return [...this.live.values()];
  }

  activeSequences(): number {
    return this.versions().reduce((sum, version) => sum + version.served.pool.active, 0);
  }

  activeDraftSequences(): number {
    return this.versions().reduce((sum, version) => sum + (version.served.speculation?.draftPool.active ?? 0), 0);
  }

  async load(request: LoadRequest): Promise<AdapterRecord> {
    if (this.reservedIds.has(request.name)) throw invalidRequest(`lora_name ${request.name} is a served model's id.`, "lora_name");
    const { bytes } = await readAdapterFile(this.options.adaptersDir, request.loraPath, this.options.adapterMaxBytes);
    const shape = checkAdapter(bytes, request.loraPath, this.baseLayout());
    const sha256 = sha256Hex(bytes);
    return this.exclusive(async () => {
      await this.checkGeneration();
      const served = this.highestVersion.get(request.name);
      if (served !== undefined) await this.registry.raiseVersion(request.name, served);
      const record: AdapterRecord = {
        name: request.name,
        version: await this.registry.nextVersion(request.name),
        base: this.base.id,
        ...shape,
        scale: request.scale,
        sha256,
        size: bytes.byteLength,
        created: Math.floor(Date.now() / 1000),
        state: "ready",
      };
      const previous = await this.registry.get(request.name);
      await this.registry.putBlob(sha256, bytes);
      let version: AdapterVersion;
      try {
        version = await this.build(record, bytes);
        await this.registry.publish(record).catch(async (error: unknown) => {
          await version.retire();
          throw error;
        });
      } catch (error) {
        await this.registry.collectBlob(sha256).catch(() => undefined);
        throw error;
      }
      this.install(version);
      if (previous !== undefined && previous.sha256 !== sha256) await this.registry.collectBlob(previous.sha256).catch(() => undefined);
      this.logger.info({ adapter: record.name, version: record.version, sha256 }, "adapter loaded");
      return record;
    });
  }

  async unload(name: string): Promise<void> {
    await this.exclusive(async () => {
      await this.checkGeneration();
      const record = await this.registry.get(name);
      if (record === undefined && !this.live.has(name)) throw modelNotFound(name);
      await this.registry.remove(name);
      this.retire(name);
      if (record !== undefined) await this.registry.collectBlob(record.sha256).catch(() => undefined);
      this.logger.info({ adapter: name }, "adapter unloaded");
    });
  }

  /** Makes this replica serve what the registry holds (cheap when nothing changed: one read). */
  sync(): Promise<void> {
    return this.exclusive(() => this.syncNow());
  }

  /** Polls the registry every ADAPTER_SYNC_MS. */
  start(): void {
    this.timer = setInterval(() => {
      if (this.syncing) return;
      this.syncing = true;
      // Logged when syncing starts failing and when it recovers, not on every attempt.
      this.sync()
        .then(() => {
          if (this.syncFailing) this.logger.info("adapter sync recovered");
          this.syncFailing = false;
        })
        .catch((error: unknown) => {
          if (!this.syncFailing) this.logger.warn({ err: error }, "adapter sync failed; retrying every ADAPTER_SYNC_MS");
          this.syncFailing = true;
        })
        .finally(() => (this.syncing = false));
    }, this.options.adapterSyncMs);
    this.timer.unref();
  }

  /**
   * Stops polling and frees every version once its requests are done, waiting at most
   * `deadlineMs` for them (shutdown has already let requests drain; the base model's disposal
   * frees whatever is left).
   */
  async close(deadlineMs: number): Promise<void> {
    clearInterval(this.timer);
    await this.exclusive(async () => {
      for (const name of [...this.live.keys()]) this.retire(name);
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
    await Promise.race([Promise.all(this.retiring), deadline]);
    clearTimeout(timer);
  }

  private async syncNow(): Promise<void> {
    await this.checkGeneration();
    const epoch = await this.registry.epoch();
    if (epoch === this.seenEpoch) return;
    const wanted = new Map((await this.registry.list()).filter((record) => record.base === this.base.id).map((record) => [record.name, record]));
    // Emptied between the two reads: this list is not the registry's word; the next sync republishes.
    if ((await this.registry.generation()) !== this.generation) return;
    for (const name of [...this.live.keys()]) if (!wanted.has(name)) this.retire(name);
    let complete = true;
    for (const record of wanted.values()) {
      const live = this.live.get(record.name)?.record;
      if (live?.version === record.version && live.sha256 === record.sha256) continue;
      const key = `${versionLabel(record)}:${record.sha256}`;
      if (performance.now() - (this.failed.get(key) ?? -Infinity) < retryFailedMs) {
        complete = false;
        continue;
      }
      try {
        this.install(await this.fetch(record));
        this.failed.delete(key);
        this.logger.info({ adapter: record.name, version: record.version }, "adapter synced from the registry");
      } catch (error) {
        this.failed.set(key, performance.now());
        complete = false;
        this.logger.error({ err: error, adapter: record.name, version: record.version }, "adapter from the registry refused; retrying later");
      }
    }
    // Until every record is served, keep looking even when the epoch stays put.
    if (complete) this.seenEpoch = epoch;
  }

  /**
   * A registry that lost its data (Redis restarted empty or flushed) never unloads live adapters:
   * this replica puts back every version it serves (counter, bytes, record), loudly, and then
   * syncs in full. Runs before every sync, load and unload.
   */
  private async checkGeneration(): Promise<void> {
    const generation = await this.registry.generation();
    if (this.generation !== undefined && generation !== this.generation) {
      const versions = this.versions();
      this.logger.error({ adapters: versions.map((version) => version.label) }, "the adapter registry lost its data (store restarted or flushed); republishing the adapters this replica serves");
      let restored = 0;
      for (const version of versions) if (await this.registry.restore(version.record, await readFile(version.served.path))) restored++;
      this.logger.warn({ restored, served: versions.length }, "adapter registry republished");
      this.seenEpoch = -1;
    }
    this.generation = generation;
  }

  /** Another replica's version: its bytes from the store, checked as a client's file would be. */
  private async fetch(record: AdapterRecord): Promise<AdapterVersion> {
    const bytes = await this.registry.getBlob(record.sha256);
    if (bytes === undefined) throw new Error(`the bytes of ${record.name} v${record.version} are not in the store`);
    if (bytes.byteLength > this.options.adapterMaxBytes) throw new Error(`${record.name} v${record.version} has ${bytes.byteLength} bytes, above ADAPTER_MAX_BYTES`);
    checkAdapter(bytes, `${record.name} v${record.version}`, this.baseLayout());
    return this.build(record, bytes);
  }

  private async build(record: AdapterRecord, bytes: Uint8Array): Promise<AdapterVersion> {
    const path = await this.cache.materialize(record.name, record.version, record.sha256, bytes);
    let served: ServedModel;
    try {
      served = await this.base.withAdapter({ id: record.name, filePath: path, scale: record.scale });
    } catch (error) {
      await this.cache.remove(path);
      throw error;
    }
    return new AdapterVersion(record, served, async () => {
      await served.dispose();
      await this.cache.remove(path);
    });
  }

  /** New requests get `version` from now on; the one it replaces drains, then is freed. */
  private install(version: AdapterVersion): void {
    const { name, version: number } = version.record;
    this.highestVersion.set(name, Math.max(number, this.highestVersion.get(name) ?? 0));
    this.retire(version.record.name);
    this.live.set(version.record.name, version);
  }

  private retire(name: string): void {
    const version = this.live.get(name);
    if (version === undefined) return;
    this.live.delete(name);
    const released = version.retire().catch((error: unknown) => this.logger.error({ err: error, adapter: name }, "adapter version not freed"));
    this.retiring.add(released);
    void released.finally(() => this.retiring.delete(released));
  }

  /** Shapes and metadata as node-llama-cpp parsed them at load: the base's tensor data is never read again. */
  private baseLayout(): GgufLayout {
    this.layout ??= modelLayout(this.base);
    return this.layout;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
