import { randomUUID } from "node:crypto";
import type { Store } from "../store/store.ts";

/** What every replica knows about a loaded adapter: enough to fetch, verify and serve it. */
export interface AdapterRecord {
  name: string;
  /** Increases with every load under this name, across replicas (a store counter). */
  version: number;
  /** The served model id the adapter applies to. */
  base: string;
  rank: number;
  alpha: number;
  /** node-llama-cpp's per-context adapter scale; the delta is scale * alpha / rank. */
  scale: number;
  sha256: string;
  size: number;
  /** Unix seconds. */
  created: number;
  /** Records are written once the adapter is usable, so every stored record is "ready". */
  state: "ready";
}

/** `name@vN`: how responses name the version that answered. */
export function versionLabel(record: Pick<AdapterRecord, "name" | "version">): string {
  return `${record.name}@v${record.version}`;
}

const recordPrefix = "adapters:record:";
const versionPrefix = "adapters:version:";
const blobPrefix = "adapters:blob:";
/** Bumped after every change, so a replica polls one key instead of listing every record. */
const epochKey = "adapters:epoch";
/** A random id written once per registry lifetime: a store that lost its data (restarted empty, flushed) has a new one. */
const generationKey = "adapters:generation";

/**
 * The adapter registry on the shared store: records by name, file bytes content-addressed by
 * sha256, and an epoch counter replicas poll to notice changes.
 */
export class AdapterRegistry {
  constructor(private readonly store: Store) {}

  nextVersion(name: string): Promise<number> {
    return this.store.increment(versionPrefix + name);
  }

  /** Raises a name's version counter to at least `version` (after a store lost its counters), so versions never go backwards. */
  async raiseVersion(name: string, version: number): Promise<void> {
    const current = await this.store.increment(versionPrefix + name, 0);
    if (current < version) await this.store.increment(versionPrefix + name, version - current);
  }

  /** This registry's lifetime id, created by whichever replica asks first. */
  async generation(): Promise<string> {
    const existing = await this.store.get(generationKey);
    if (existing !== null) return existing;
    const fresh = randomUUID();
    if (await this.store.setIfAbsent(generationKey, fresh)) return fresh;
    return (await this.store.get(generationKey)) ?? fresh;
  }

  /**
   * Puts back a version a replica still serves after the registry lost it: counter, bytes and
   * record, unless the registry already holds that version or a newer one. True when it did.
   */
  async restore(record: AdapterRecord, bytes: Uint8Array): Promise<boolean> {
    await this.raiseVersion(record.name, record.version);
    const existing = await this.get(record.name);
    if (existing !== undefined && existing.version >= record.version) return false;
    await this.putBlob(record.sha256, bytes);
    await this.publish(record);
    return true;
  }

  async epoch(): Promise<number> {
    return Number((await this.store.get(epochKey)) ?? "0");
  }

  async get(name: string): Promise<AdapterRecord | undefined> {
    const text = await this.store.get(recordPrefix + name);
    return text === null ? undefined : (JSON.parse(text) as AdapterRecord);
  }

  async list(): Promise<AdapterRecord[]> {
    const keys = await this.store.keys(recordPrefix);
    const records = await Promise.all(keys.map((key) => this.get(key.slice(recordPrefix.length))));
    return records.filter((record): record is AdapterRecord => record !== undefined);
  }

  /** Installs (or replaces) the record for its name: from now on replicas serve this version. */
  async publish(record: AdapterRecord): Promise<void> {
    await this.store.set(recordPrefix + record.name, JSON.stringify(record));
    await this.store.increment(epochKey);
  }

  /** True when the name was registered. */
  async remove(name: string): Promise<boolean> {
    const existed = await this.store.delete(recordPrefix + name);
    await this.store.increment(epochKey);
    return existed;
  }

  putBlob(sha256: string, bytes: Uint8Array): Promise<void> {
    return this.store.setBytes(blobPrefix + sha256, bytes);
  }

  async getBlob(sha256: string): Promise<Uint8Array | undefined> {
    return (await this.store.getBytes(blobPrefix + sha256)) ?? undefined;
  }

  /**
   * Deletes a blob no record refers to any more. Best effort: a load of the same bytes under
   * another name racing with this can lose its blob; replicas then skip that version until
   * it is loaded again (and the replica that loaded it serves it from its own cache).
   */
  async collectBlob(sha256: string): Promise<void> {
    const records = await this.list();
    if (!records.some((record) => record.sha256 === sha256)) await this.store.delete(blobPrefix + sha256);
  }
}
