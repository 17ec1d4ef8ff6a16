import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { MemoryStore } from "../src/store/memory-store.ts";
import { RedisStore } from "../src/store/redis-store.ts";
import type { Store } from "../src/store/store.ts";
import { startTestGateway } from "./gateway-harness.ts";
import { startTestRedis, type TestRedis } from "./redis-harness.ts";

/** One contract, run against every implementation. */
function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`${name} store`, () => {
    let store: Store;
    let prefix: string;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await store.close();
    });
    beforeEach(() => {
      // A fresh namespace per case keeps cases independent on a shared Redis.
      prefix = `contract-${randomUUID()}:`;
    });

    it("gets what was set, and null for what was not", async () => {
      assert.equal(await store.get(`${prefix}missing`), null);
      await store.set(`${prefix}a`, "1");
      assert.equal(await store.get(`${prefix}a`), "1");
      await store.set(`${prefix}a`, "two");
      assert.equal(await store.get(`${prefix}a`), "two");
    });

    it("keeps values byte for byte", async () => {
      const value = '{"é":"日本","nul":"\\u0000","emoji":"🦙"}';
      await store.set(`${prefix}json`, value);
      assert.equal(await store.get(`${prefix}json`), value);
    });

    it("keeps bytes byte for byte, every byte value and a megabyte included", async () => {
      assert.equal(await store.getBytes(`${prefix}absent`), null);
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.setBytes(`${prefix}bytes`, every);
      every[0] = 9; // the store holds its own copy
      assert.deepEqual(await store.getBytes(`${prefix}bytes`), Uint8Array.from({ length: 256 }, (_, i) => i));
      const large = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) & 0xff);
      await store.setBytes(`${prefix}large`, large);
      assert.deepEqual(await store.getBytes(`${prefix}large`), large);
      assert.deepEqual(await store.keys(`${prefix}large`), [`${prefix}large`]);
      assert.equal(await store.delete(`${prefix}large`), true);
      assert.equal(await store.getBytes(`${prefix}large`), null);
    });

    it("gets many byte values in one call, in order, null for the absent", async () => {
      assert.deepEqual(await store.getManyBytes([]), []);
      await store.setBytes(`${prefix}m1`, Uint8Array.from([1, 2, 3]));
      await store.setBytes(`${prefix}m2`, Uint8Array.from([0, 255]));
      assert.deepEqual(await store.getManyBytes([`${prefix}m2`, `${prefix}none`, `${prefix}m1`]), [Uint8Array.from([0, 255]), null, Uint8Array.from([1, 2, 3])]);
    });

    it("expires byte values after their ttl", async () => {
      await store.setBytes(`${prefix}short-bytes`, Uint8Array.from([1]), { ttlMs: 30 });
      await store.setBytes(`${prefix}long-bytes`, Uint8Array.from([2]), { ttlMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 80));
      assert.deepEqual(await store.getManyBytes([`${prefix}short-bytes`, `${prefix}long-bytes`]), [null, Uint8Array.from([2])]);
    });

    it("deletes, reporting whether the key existed", async () => {
      await store.set(`${prefix}d`, "x");
      assert.equal(await store.delete(`${prefix}d`), true);
      assert.equal(await store.delete(`${prefix}d`), false);
      assert.equal(await store.get(`${prefix}d`), null);
    });

    it("sets only when absent with setIfAbsent", async () => {
      assert.equal(await store.setIfAbsent(`${prefix}once`, "first"), true);
      assert.equal(await store.setIfAbsent(`${prefix}once`, "second"), false);
      assert.equal(await store.get(`${prefix}once`), "first");
    });

    it("expires keys after their ttl", async () => {
      await store.set(`${prefix}short`, "x", { ttlMs: 30 });
      await store.set(`${prefix}long`, "y", { ttlMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 80));
      assert.equal(await store.get(`${prefix}short`), null);
      assert.equal(await store.get(`${prefix}long`), "y");
      assert.equal(await store.setIfAbsent(`${prefix}short`, "again", { ttlMs: 60_000 }), true);
    });

    it("increments counters from zero, atomically under concurrency", async () => {
      assert.equal(await store.increment(`${prefix}n`), 1);
      assert.equal(await store.increment(`${prefix}n`, 5), 6);
      await Promise.all(Array.from({ length: 50 }, () => store.increment(`${prefix}n`)));
      assert.equal(await store.get(`${prefix}n`), "56");
    });

    it("lists keys by prefix, sorted, and only those", async () => {
      await store.set(`${prefix}k:b`, "1");
      await store.set(`${prefix}k:a`, "1");
      await store.set(`${prefix}other`, "1");
      await store.set(`${prefix}k:*glob`, "1");
      assert.deepEqual(await store.keys(`${prefix}k:`), [`${prefix}k:*glob`, `${prefix}k:a`, `${prefix}k:b`]);
      assert.deepEqual(await store.keys(`${prefix}none:`), []);
    });
  });
}

storeContract("in-process", async () => new MemoryStore());

let redis: TestRedis;
before(async () => {
  redis = await startTestRedis();
});
after(async () => {
  await redis?.stop();
});
storeContract("redis", () => RedisStore.connect(redis.url, `test-${randomUUID()}:`));
