/**
 * Redis faults under two replicas (in-process gateways) on a real redis-server: stopped,
 * frozen (SIGSTOP) and restarted empty. Completions never need the store and keep working;
 * adapter routes answer 503 store_unavailable with Retry-After within STORE_TIMEOUT_MS; each
 * outage is logged once; a registry that comes back empty is republished by the replicas that
 * serve its adapters, which never unload them, and versions never go backwards.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { adaptersDir, writeRandomAdapter } from "./adapter-fixtures.ts";
import { postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conformsAsError } from "./openapi-validator.ts";
import { startControlledRedis, type ControlledRedis } from "./redis-harness.ts";

const TIMEOUT_MS = 500;
/** Scheduling slack on a shared machine, on top of STORE_TIMEOUT_MS. */
const SLACK_MS = 1_000;
const dir = adaptersDir();
writeRandomAdapter(dir, "a.gguf", 31);
writeRandomAdapter(dir, "b.gguf", 32);

let redis: ControlledRedis;
const replicas: { gateway: TestGateway; lines: string[] }[] = [];

const messages = (lines: string[]): string[] => lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
const count = (lines: string[], prefix: string): number => messages(lines).filter((msg) => msg.startsWith(prefix)).length;
const load = (gateway: TestGateway, name: string, file: string) => postJson(`${gateway.url}/v1/load_lora_adapter`, { lora_name: name, lora_path: file });
const complete = async (gateway: TestGateway, model: string): Promise<number> =>
  (await postJson(`${gateway.url}/v1/completions`, { model, prompt: "Once upon a time", max_tokens: 4, temperature: 0 })).status;

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

async function expectStoreUnavailable(request: () => Promise<Response>): Promise<void> {
  const start = performance.now();
  const response = await request();
  const elapsed = performance.now() - start;
  assert.equal(response.status, 503);
  assert.equal((await conformsAsError(response)).error.code, "store_unavailable");
  assert.equal(response.headers.get("retry-after"), "1");
  assert.ok(elapsed < TIMEOUT_MS + SLACK_MS, `answered after ${elapsed.toFixed(0)} ms`);
}

before(async () => {
  redis = await startControlledRedis();
  for (let i = 0; i < 2; i++) {
    const lines: string[] = [];
    const gateway = await startTestGateway({ REDIS_URL: redis.url, STORE_TIMEOUT_MS: String(TIMEOUT_MS), ADAPTERS_DIR: dir, SEQUENCES: "2", LOG_LEVEL: "info" }, { logLines: lines });
    replicas.push({ gateway, lines });
  }
});
after(async () => {
  for (const { gateway } of replicas) await gateway.close();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("store faults", () => {
  it("stopped, then restarted empty: completions work, adapter routes 503 fast, one log line per change, registry republished, versions go on", async (t) => {
    const [a, b] = replicas;
    // ioredis prints "[ioredis] Unhandled error event" with console.error when a client has no error listener.
    const printed: string[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => {
      printed.push(args.map(String).join(" "));
      consoleError(...args);
    };
    t.after(() => {
      console.error = consoleError;
    });
    assert.equal((await load(a!.gateway, "shared", "a.gguf")).status, 200);
    assert.ok(await until(async () => (await complete(b!.gateway, "shared")) === 200, 3_000), "the other replica serves the adapter");

    await redis.stop();
    for (const { gateway } of replicas) {
      assert.equal(await complete(gateway, "target"), 200);
      assert.equal(await complete(gateway, "shared"), 200);
    }
    await expectStoreUnavailable(() => load(a!.gateway, "other", "b.gguf"));
    await expectStoreUnavailable(() => postJson(`${b!.gateway.url}/v1/unload_lora_adapter`, { lora_name: "shared" }));
    // Several sync rounds fail meanwhile (every 200 ms); each replica says so once.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const { lines } of replicas) {
      assert.equal(count(lines, "store unreachable"), 1, messages(lines).join("\n"));
      assert.equal(count(lines, "adapter sync failed"), 1);
    }

    await redis.start();
    const direct = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    direct.on("error", () => undefined);
    try {
      assert.ok(await until(async () => (await direct.get("gateway:adapters:record:shared")) !== null, 5_000), "the registry was republished");
      const record = JSON.parse((await direct.get("gateway:adapters:record:shared"))!) as { version: number };
      assert.equal(record.version, 1);
      assert.ok((await direct.get(`gateway:adapters:blob:${(record as unknown as { sha256: string }).sha256}`)) !== null);
    } finally {
      direct.disconnect();
    }
    for (const { gateway, lines } of replicas) {
      assert.equal(await complete(gateway, "shared"), 200, "the adapter was never unloaded");
      assert.ok(await until(async () => count(lines, "store reachable again") === 1, 2_000));
      assert.ok(await until(async () => count(lines, "adapter sync recovered") === 1, 2_000));
    }
    assert.ok(replicas.some(({ lines }) => count(lines, "the adapter registry lost its data") === 1));
    const swapped = await load(b!.gateway, "shared", "b.gguf");
    assert.equal(swapped.status, 200);
    assert.equal(((await swapped.json()) as { version: number }).version, 2, "versions never go backwards");
    assert.deepEqual(printed.filter((line) => line.includes("ioredis")), [], "every ioredis client has an error listener");
  });

  it("frozen (SIGSTOP): adapter routes 503 within STORE_TIMEOUT_MS, completions work, loads work again once it thaws", async () => {
    const [a] = replicas;
    redis.freeze();
    try {
      await expectStoreUnavailable(() => load(a!.gateway, "frozen", "a.gguf"));
      assert.equal(await complete(a!.gateway, "target"), 200);
      assert.equal(await complete(a!.gateway, "shared"), 200);
      await expectStoreUnavailable(() => load(a!.gateway, "frozen", "a.gguf"));
    } finally {
      redis.thaw();
    }
    assert.ok(await until(async () => (await load(a!.gateway, "frozen", "a.gguf")).status === 200, 5_000));
    assert.equal(count(a!.lines, "store unreachable"), 2, "one line for each outage");
  });
});
