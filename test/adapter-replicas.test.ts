/**
 * Replicas: gateway processes (`npm start`'s entry point, default ADAPTER_SYNC_MS) on one real Redis. A load on one is
 * served by the other within 1 s, with the same version and the same greedy output; likewise
 * a swap and an unload (issued on the other replica); a replica started later serves the
 * registry's adapters as soon as it is ready.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { adaptersDir, writeRandomAdapter } from "./adapter-fixtures.ts";
import { modelPath, postJson } from "./gateway-harness.ts";
import { spawnGateway, type GatewayProcess } from "./gateway-process.ts";
import { startTestRedis, type TestRedis } from "./redis-harness.ts";

const PROPAGATION_MS = 1000;
const prompt = "Once upon a time";
const dir = adaptersDir();
writeRandomAdapter(dir, "one.gguf", 21);
writeRandomAdapter(dir, "two.gguf", 22);
// Unique per run, so a shared REDIS_URL's earlier runs cannot interfere.
const name = `shared-${randomUUID().slice(0, 8)}`;

let redis: TestRedis;
const replicas: GatewayProcess[] = [];

async function startReplica(): Promise<GatewayProcess> {
  const replica = await spawnGateway({
    REDIS_URL: redis.url,
    ADAPTERS_DIR: dir,
    TARGET_MODEL: modelPath("target"),
    TARGET_MODEL_ID: "target",
    DRAFT_MODEL: modelPath("draft"),
    SEQUENCES: "2",
  });
  replicas.push(replica);
  return replica;
}

before(async () => {
  redis = await startTestRedis();
});
after(async () => {
  for (const replica of replicas) {
    replica.process.kill("SIGTERM");
    await replica.exit;
  }
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  text?: string;
  fingerprint?: string;
}

async function complete(replica: GatewayProcess): Promise<Answer> {
  const response = await postJson(`${replica.url}/v1/completions`, { model: name, prompt, max_tokens: 12, temperature: 0 });
  if (response.status !== 200) return { status: response.status };
  const body = (await response.json()) as { choices: { text: string }[]; system_fingerprint: string };
  return { status: 200, text: body.choices[0]!.text, fingerprint: body.system_fingerprint };
}

/** Asks `replica` until `done` holds; returns the answer and how long after `since` it came. */
async function until(replica: GatewayProcess, done: (answer: Answer) => boolean, since: number): Promise<{ answer: Answer; ms: number }> {
  for (;;) {
    const answer = await complete(replica);
    const ms = performance.now() - since;
    if (done(answer) || ms > 5 * PROPAGATION_MS) return { answer, ms };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function load(replica: GatewayProcess, file: string): Promise<string> {
  const response = await postJson(`${replica.url}/v1/load_lora_adapter`, { lora_name: name, lora_path: file });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { system_fingerprint: string }).system_fingerprint;
}

describe("adapters across replicas on one Redis", () => {
  it("load, swap and unload on one replica reach the other within 1 s; a later replica serves the registry", async (t) => {
    const [a, b] = await Promise.all([startReplica(), startReplica()]);
    assert.equal((await complete(b)).status, 404, "not loaded yet");

    const v1 = await load(a, "one.gguf");
    let since = performance.now();
    const onA = await complete(a);
    const loaded = await until(b, (answer) => answer.fingerprint === v1, since);
    assert.equal(loaded.answer.fingerprint, v1, "the other replica serves the loaded version");
    assert.ok(loaded.ms < PROPAGATION_MS, `load reached the other replica in ${loaded.ms.toFixed(0)} ms`);
    assert.equal(loaded.answer.text, onA.text, "with the same output");

    const v2 = await load(a, "two.gguf");
    since = performance.now();
    const swapped = await until(b, (answer) => answer.fingerprint === v2, since);
    assert.equal(swapped.answer.fingerprint, v2);
    assert.ok(swapped.ms < PROPAGATION_MS, `swap reached the other replica in ${swapped.ms.toFixed(0)} ms`);
    const v2OnA = await complete(a);
    assert.equal(swapped.answer.text, v2OnA.text);
    assert.notEqual(v2OnA.text, onA.text, "the versions differ, so the check above can tell them apart");

    const c = await startReplica();
    const late = await complete(c);
    assert.equal(late.fingerprint, v2, "a replica started later serves the registry's version when ready");
    assert.equal(late.text, v2OnA.text);
    const listed = (await (await fetch(`${c.url}/v1/models`)).json()) as { data: { id: string; parent?: string }[] };
    assert.equal(listed.data.find((model) => model.id === name)?.parent, "target");

    const unloaded = await postJson(`${b.url}/v1/unload_lora_adapter`, { lora_name: name });
    assert.equal(unloaded.status, 200);
    since = performance.now();
    const [goneOnA, goneOnC] = await Promise.all([until(a, (answer) => answer.status === 404, since), until(c, (answer) => answer.status === 404, since)]);
    assert.equal(goneOnA.answer.status, 404);
    assert.equal(goneOnC.answer.status, 404);
    assert.ok(Math.max(goneOnA.ms, goneOnC.ms) < PROPAGATION_MS, `unload reached the others in ${goneOnA.ms.toFixed(0)} and ${goneOnC.ms.toFixed(0)} ms`);
    t.diagnostic(`propagation: load ${loaded.ms.toFixed(0)} ms, swap ${swapped.ms.toFixed(0)} ms, unload ${Math.max(goneOnA.ms, goneOnC.ms).toFixed(0)} ms`);
  });
});
