import type { Logger } from "pino";
import { MemoryStore } from "./memory-store.ts";
import { RedisStore } from "./redis-store.ts";
import type { Store } from "./store.ts";

export async function openStore(redisUrl: string | undefined, options: { timeoutMs: number; logger: Logger }): Promise<Store> {
  return redisUrl === undefined ? new MemoryStore() : RedisStore.connect(redisUrl, options);
}
