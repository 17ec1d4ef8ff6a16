import type { Store } from "./store.ts";

interface Entry {
  value: string | Uint8Array;
  expiresAt: number;
}

/** How often writes sweep out expired entries, so keys written with a ttl and never read again do not pile up. */
const sweepEveryMs = 1_000;

/** The in-process store: for a single replica, and what runs when REDIS_URL is unset. */
export class MemoryStore implements Store {
  private readonly entries = new Map<string, Entry>();
  private nextSweep = 0;

  async get(key: string): Promise<string | null> {
    const value = this.live(key)?.value;
    if (value === undefined) return null;
    return typeof value === "string" ? value : Buffer.from(value).toString("utf8");
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    const value = this.live(key)?.value;
    if (value === undefined) return null;
    return typeof value === "string" ? new TextEncoder().encode(value) : Uint8Array.from(value);
  }

  async getManyBytes(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    return Promise.all(keys.map((key) => this.getBytes(key)));
  }

  /** Keeps a copy, so the caller may reuse its buffer (Redis copies too). */
  async setBytes(key: string, value: Uint8Array, options?: { ttlMs?: number }): Promise<void> {
    this.write(key, { value: Uint8Array.from(value), expiresAt: expiry(options?.ttlMs) });
  }

  async set(key: string, value: string, options?: { ttlMs?: number }): Promise<void> {
    this.write(key, { value, expiresAt: expiry(options?.ttlMs) });
  }

  async setIfAbsent(key: string, value: string, options?: { ttlMs?: number }): Promise<boolean> {
    if (this.live(key) !== undefined) return false;
    await this.set(key, value, options);
    return true;
  }

  async delete(key: string): Promise<boolean> {
    const existed = this.live(key) !== undefined;
    this.entries.delete(key);
    return existed;
  }

  async increment(key: string, by = 1): Promise<number> {
    const entry = this.live(key);
    const current = entry === undefined ? 0 : Number(entry.value);
    if (!Number.isInteger(current)) throw new Error(`${key} does not hold an integer`);
    const next = current + by;
    this.write(key, { value: String(next), expiresAt: entry?.expiresAt ?? Infinity });
    return next;
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.entries.keys()].filter((key) => key.startsWith(prefix) && this.live(key) !== undefined).sort();
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private write(key: string, entry: Entry): void {
    const now = Date.now();
    if (now >= this.nextSweep) {
      this.nextSweep = now + sweepEveryMs;
      for (const [existing, { expiresAt }] of this.entries) if (expiresAt <= now) this.entries.delete(existing);
    }
    this.entries.set(key, entry);
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

function expiry(ttlMs: number | undefined): number {
  return ttlMs === undefined ? Infinity : Date.now() + ttlMs;
}
