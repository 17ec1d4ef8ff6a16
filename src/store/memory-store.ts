import type { Store } from "./store.ts";

interface Entry {
  value: string | Uint8Array;
  expiresAt: number;
}

/** The in-process store: for a single replica, and what runs when REDIS_URL is unset. */
export class MemoryStore implements Store {
  private readonly entries = new Map<string, Entry>();

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

  /** Keeps a copy, so the caller may reuse its buffer (Redis copies too). */
  async setBytes(key: string, value: Uint8Array): Promise<void> {
    this.entries.set(key, { value: Uint8Array.from(value), expiresAt: Infinity });
  }

  async set(key: string, value: string, options?: { ttlMs?: number }): Promise<void> {
    this.entries.set(key, { value, expiresAt: expiry(options?.ttlMs) });
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
    this.entries.set(key, { value: String(next), expiresAt: entry?.expiresAt ?? Infinity });
    return next;
  }

  async keys(prefix: string): Promise<string[]> {
    return [...this.entries.keys()].filter((key) => key.startsWith(prefix) && this.live(key) !== undefined).sort();
  }

  async close(): Promise<void> {
    this.entries.clear();
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
