import { Redis } from "ioredis";
import type { Store } from "./store.ts";

/** The store shared by replicas. Keys are namespaced so the gateway can share a Redis. */
export class RedisStore implements Store {
  private constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
  ) {}

  static async connect(url: string, namespace = "gateway:"): Promise<RedisStore> {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await redis.connect();
    return new RedisStore(redis, namespace);
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.namespace + key);
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    const value = await this.redis.getBuffer(this.namespace + key);
    return value === null ? null : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  async setBytes(key: string, value: Uint8Array): Promise<void> {
    await this.redis.set(this.namespace + key, Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }

  async set(key: string, value: string, options?: { ttlMs?: number }): Promise<void> {
    if (options?.ttlMs === undefined) await this.redis.set(this.namespace + key, value);
    else await this.redis.set(this.namespace + key, value, "PX", options.ttlMs);
  }

  async setIfAbsent(key: string, value: string, options?: { ttlMs?: number }): Promise<boolean> {
    const result = options?.ttlMs === undefined
      ? await this.redis.set(this.namespace + key, value, "NX")
      : await this.redis.set(this.namespace + key, value, "PX", options.ttlMs, "NX");
    return result === "OK";
  }

  async delete(key: string): Promise<boolean> {
    return (await this.redis.del(this.namespace + key)) > 0;
  }

  async increment(key: string, by = 1): Promise<number> {
    return this.redis.incrby(this.namespace + key, by);
  }

  async keys(prefix: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await this.redis.scan(cursor, "MATCH", `${escapeGlob(this.namespace + prefix)}*`, "COUNT", 500);
      cursor = next;
      found.push(...batch.map((key) => key.slice(this.namespace.length)));
    } while (cursor !== "0");
    return [...new Set(found)].sort();
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit();
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
