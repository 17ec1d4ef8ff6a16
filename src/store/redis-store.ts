import { Redis, ReplyError } from "ioredis";
import type { Logger } from "pino";
import { StoreHealth } from "./store-health.ts";
import type { Store } from "./store.ts";
import { StoreUnavailable } from "./store-unavailable.ts";

export interface RedisStoreOptions {
  /** Keys are namespaced so the gateway can share a Redis. */
  namespace?: string;
  /** Connect and command timeout (STORE_TIMEOUT_MS): no call waits longer on an unreachable store. */
  timeoutMs?: number;
  logger?: Logger;
}

const defaultTimeoutMs = 2_000;

/**
 * The store shared by replicas. Every call ends within `timeoutMs`: a Redis that is down,
 * reconnecting or frozen makes calls fail with StoreUnavailable (at once while the breaker in
 * StoreHealth is open). ioredis reconnects by itself; its errors are logged once per outage.
 */
export class RedisStore implements Store {
  private constructor(
    private readonly redis: Redis,
    private readonly namespace: string,
    private readonly health: StoreHealth,
    private readonly retryAfterSeconds: number,
  ) {}

  static async connect(url: string, options: RedisStoreOptions | string = {}): Promise<RedisStore> {
    const { namespace = "gateway:", timeoutMs = defaultTimeoutMs, logger } = typeof options === "string" ? { namespace: options } : options;
    const redis = new Redis(url, {
      lazyConnect: true,
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 2,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    });
    const log = logger ?? silentLogger;
    const health = new StoreHealth(log, async () => void (await redis.ping()), Math.min(timeoutMs, 1_000));
    // Without a listener ioredis prints "Unhandled error event" for every failed reconnection.
    redis.on("error", (error: unknown) => health.failed(error));
    redis.on("ready", () => health.succeeded());
    await redis.connect();
    return new RedisStore(redis, namespace, health, Math.max(1, Math.ceil(timeoutMs / 1000)));
  }

  get(key: string): Promise<string | null> {
    return this.call(() => this.redis.get(this.namespace + key));
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    const value = await this.call(() => this.redis.getBuffer(this.namespace + key));
    return value === null ? null : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  async getManyBytes(keys: readonly string[]): Promise<(Uint8Array | null)[]> {
    if (keys.length === 0) return [];
    const values = await this.call(() => this.redis.mgetBuffer(...keys.map((key) => this.namespace + key)));
    return values.map((value) => (value === null ? null : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)));
  }

  async setBytes(key: string, value: Uint8Array, options?: { ttlMs?: number }): Promise<void> {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    if (options?.ttlMs === undefined) await this.call(() => this.redis.set(this.namespace + key, bytes));
    else await this.call(() => this.redis.set(this.namespace + key, bytes, "PX", options.ttlMs!));
  }

  async set(key: string, value: string, options?: { ttlMs?: number }): Promise<void> {
    if (options?.ttlMs === undefined) await this.call(() => this.redis.set(this.namespace + key, value));
    else await this.call(() => this.redis.set(this.namespace + key, value, "PX", options.ttlMs!));
  }

  async setIfAbsent(key: string, value: string, options?: { ttlMs?: number }): Promise<boolean> {
    const result = options?.ttlMs === undefined
      ? await this.call(() => this.redis.set(this.namespace + key, value, "NX"))
      : await this.call(() => this.redis.set(this.namespace + key, value, "PX", options.ttlMs!, "NX"));
    return result === "OK";
  }

  async delete(key: string): Promise<boolean> {
    return (await this.call(() => this.redis.del(this.namespace + key))) > 0;
  }

  increment(key: string, by = 1): Promise<number> {
    return this.call(() => this.redis.incrby(this.namespace + key, by));
  }

  async keys(prefix: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await this.call(() => this.redis.scan(cursor, "MATCH", `${escapeGlob(this.namespace + prefix)}*`, "COUNT", 500));
      cursor = next;
      found.push(...batch.map((key) => key.slice(this.namespace.length)));
    } while (cursor !== "0");
    return [...new Set(found)].sort();
  }

  async close(): Promise<void> {
    this.health.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** One command: Redis's own error replies pass through; anything else means the store is unreachable. */
  private async call<T>(command: () => Promise<T>): Promise<T> {
    if (!this.health.reachable) throw new StoreUnavailable(this.retryAfterSeconds);
    try {
      const result = await command();
      this.health.succeeded();
      return result;
    } catch (error) {
      if (error instanceof ReplyError) throw error;
      this.health.failed(error);
      throw new StoreUnavailable(this.retryAfterSeconds, { cause: error });
    }
  }
}

const silentLogger = { error: () => undefined, info: () => undefined } as unknown as Logger;

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}
