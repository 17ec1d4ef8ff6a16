/**
 * Runtime LoRA adapters through the HTTP API, on a real gateway with the official SDK:
 * - load lists the adapter in /v1/models (parent = base) and serves it as `model`, each
 *   response naming the version in system_fingerprint; responses match openapi.yaml;
 * - bad files (alpha as u32, wrong shapes, not an adapter, garbage, an IQ2_XXS tensor) get a 400 naming the
 *   problem, register nothing, and the process lives on;
 * - admin keys: 401 without a key, 403 with a plain key, 200 with an admin key;
 * - isolation: base, adapter A and adapter B on the same prompt, interleaved and concurrent,
 *   give exactly what each gives alone (tokens and top logprobs);
 * - unload: new requests get 404 model_not_found, streams already running finish whole on
 *   their version, and the version's resources are freed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { adaptersDir, writeBadAdapters, writeRandomAdapter } from "./adapter-fixtures.ts";
import { metric, postJson, settle, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conforms, conformsAsError } from "./openapi-validator.ts";

const dir = adaptersDir();
const cacheDir = mkdtempSync(join(tmpdir(), "adapter-cache-"));
writeRandomAdapter(dir, "a.gguf", 1);
writeRandomAdapter(dir, "b.gguf", 2);
writeRandomAdapter(dir, "c.gguf", 3);
writeRandomAdapter(dir, "d.gguf", 4);
const bad = writeBadAdapters(dir);
const prompt = "Once upon a time";

let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway({ ADAPTERS_DIR: dir, ADAPTER_CACHE_DIR: cacheDir });
});
after(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(cacheDir, { recursive: true, force: true });
});

const load = (body: unknown, headers: Record<string, string> = {}): Promise<Response> => postJson(`${gateway.url}/v1/load_lora_adapter`, body, headers);
const unload = (body: unknown, headers: Record<string, string> = {}): Promise<Response> => postJson(`${gateway.url}/v1/unload_lora_adapter`, body, headers);

async function modelIds(url: string): Promise<string[]> {
  const list = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
  return list.data.map((model) => model.id);
}

async function greedy(model: string): Promise<{ text: string; fingerprint: string | undefined; top: Record<string, number>[] }> {
  const completion = await gateway.client.completions.create({ model, prompt, max_tokens: 12, temperature: 0, logprobs: 3 });
  return { text: completion.choices[0]!.text, fingerprint: completion.system_fingerprint, top: completion.choices[0]!.logprobs!.top_logprobs! };
}

describe("LoRA adapters over HTTP", () => {
  it("loads an adapter, lists it with its parent, serves it by name and says which version answered", async () => {
    const response = await load({ lora_name: "alpha", lora_path: "a.gguf" });
    const card = (await conforms("/v1/load_lora_adapter", "post", response)) as { version: number; system_fingerprint: string; parent: string; rank: number };
    assert.equal(card.parent, "target");
    assert.equal(card.rank, 8);
    const listed = (await conforms("/v1/models", "get", await fetch(`${gateway.url}/v1/models`))) as { data: { id: string; created: number }[] };
    const listing = listed.data.find((model) => model.id === "alpha");
    assert.deepEqual(listing, { id: "alpha", object: "model", created: listing?.created, owned_by: "spectr-gateway", kind: "generative", parent: "target", root: "alpha", version: card.version });
    await conforms("/v1/models/{model}", "get", await fetch(`${gateway.url}/v1/models/alpha`));

    const base = await greedy("target");
    const adapted = await greedy("alpha");
    assert.match(base.fingerprint ?? "", /^fp_[0-9a-f]{12}$/);
    assert.equal(adapted.fingerprint, card.system_fingerprint);
    assert.equal(adapted.fingerprint, `${base.fingerprint}:alpha@v${card.version}`);
    assert.notEqual(adapted.text, base.text, "the adapter changes greedy output");

    const chat = await gateway.client.chat.completions.create({ model: "alpha", messages: [{ role: "user", content: "Hi" }], max_tokens: 4 });
    assert.equal(chat.model, "alpha");
    assert.equal(chat.system_fingerprint, card.system_fingerprint);
  });

  it("refuses bad adapter files with a 400 naming the problem, registering nothing", async () => {
    const before = await modelIds(gateway.url);
    const cached = readdirSync(cacheDir).sort();
    const stored = await gateway.server.gateway.store.keys("adapters:");
    for (const [file, problem] of Object.entries(bad)) {
      const response = await load({ lora_name: "broken", lora_path: file });
      assert.equal(response.status, 400, file);
      const body = await conformsAsError(response);
      assert.equal(body.error.code, "invalid_adapter", file);
      assert.equal(body.error.param, "lora_path");
      assert.match(body.error.message, problem, file);
    }
    assert.deepEqual(await modelIds(gateway.url), before);
    assert.deepEqual(readdirSync(cacheDir).sort(), cached, "no cache file was written");
    assert.deepEqual(await gateway.server.gateway.store.keys("adapters:"), stored, "no record, version or bytes were stored");
    const missing = await postJson(`${gateway.url}/v1/completions`, { model: "broken", prompt });
    assert.equal(missing.status, 404);
    assert.equal((await gateway.client.completions.create({ model: "target", prompt, max_tokens: 2 })).choices.length, 1, "the process still serves");
  });

  it("refuses bad requests: paths outside ADAPTERS_DIR, names that are not ids, unknown fields", async () => {
    const cases: [unknown, string][] = [
      [{ lora_name: "x", lora_path: "../a.gguf" }, "lora_path"],
      [{ lora_name: "x", lora_path: "/etc/passwd" }, "lora_path"],
      [{ lora_name: "x", lora_path: "missing.gguf" }, "lora_path"],
      [{ lora_name: "../x", lora_path: "a.gguf" }, "lora_name"],
      [{ lora_name: "target", lora_path: "a.gguf" }, "lora_name"],
      [{ lora_name: "x", lora_path: "a.gguf", extra: 1 }, "extra"],
      [{ lora_name: "x" }, "lora_path"],
    ];
    for (const [body, param] of cases) {
      const response = await load(body);
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal((await conformsAsError(response)).error.param, param, JSON.stringify(body));
    }
    const unknown = await unload({ lora_name: "never-loaded" });
    assert.equal(unknown.status, 404);
    assert.equal((await conformsAsError(unknown)).error.code, "model_not_found");
  });

  it("keeps base, adapter A and adapter B apart: interleaved concurrent requests give what each gives alone", async () => {
    await load({ lora_name: "iso-a", lora_path: "a.gguf" });
    await load({ lora_name: "iso-b", lora_path: "b.gguf" });
    const models = ["target", "iso-a", "iso-b"];
    const alone = new Map<string, Awaited<ReturnType<typeof greedy>>>();
    for (const model of models) alone.set(model, await greedy(model));
    assert.equal(new Set([...alone.values()].map((result) => result.text)).size, 3, "three different greedy outputs");
    const interleaved = Array.from({ length: 12 }, (_, i) => models[i % 3]!);
    const together = await Promise.all(interleaved.map((model) => greedy(model)));
    together.forEach((result, i) => {
      const expected = alone.get(interleaved[i]!)!;
      assert.equal(result.text, expected.text, `request ${i} (${interleaved[i]})`);
      assert.equal(result.fingerprint, expected.fingerprint);
      result.top.forEach((position, j) => {
        const reference = expected.top[j]!;
        assert.deepEqual(Object.keys(position).sort(), Object.keys(reference).sort(), `request ${i} position ${j}`);
        // Batched and solo decodes round differently in the last bits (~1e-4 here); another
        // version's weights would move these logprobs by far more.
        for (const [token, logprob] of Object.entries(position)) assert.ok(Math.abs(logprob - reference[token]!) < 2e-3, `request ${i} position ${j} ${token}: ${logprob} vs ${reference[token]}`);
      });
    });
  });

  it("unloads while streams run: they finish on their version, new requests get 404", async () => {
    await load({ lora_name: "draining", lora_path: "b.gguf" });
    const request = { model: "draining", prompt, max_tokens: 128, temperature: 0, ignore_eos: true };
    const alone = (await gateway.client.completions.create(request)).choices[0]!.text;
    const streams = await Promise.all(Array.from({ length: 4 }, async () => {
      const chunks = (await gateway.client.completions.create({ ...request, stream: true }))[Symbol.asyncIterator]();
      const first = await chunks.next();
      return { chunks, text: first.done === true ? "" : first.value.choices[0]?.text ?? "" };
    }));
    const unloaded = await unload({ lora_name: "draining" });
    assert.equal(unloaded.status, 200);
    assert.ok(await metric(gateway.url, "num_requests_running") > 0, "the streams were still generating when the unload returned");
    assert.equal((await postJson(`${gateway.url}/v1/completions`, request)).status, 404, "new requests are refused at once");
    for (const stream of streams) {
      for (let chunk = await stream.chunks.next(); chunk.done !== true; chunk = await stream.chunks.next()) stream.text += chunk.value.choices[0]?.text ?? "";
      assert.equal(stream.text, alone, "the stream finished on the unloaded version, whole");
    }
  });

  it("keeps in the store the bytes of registered versions only", async () => {
    const blobs = async (): Promise<string[]> => (await gateway.server.gateway.store.keys("adapters:blob:")).map((key) => key.slice("adapters:blob:".length));
    const first = (await (await load({ lora_name: "stored", lora_path: "c.gguf" })).json()) as { sha256: string };
    assert.ok((await blobs()).includes(first.sha256));
    const second = (await (await load({ lora_name: "stored", lora_path: "d.gguf" })).json()) as { sha256: string };
    assert.ok((await blobs()).includes(second.sha256));
    assert.ok(!(await blobs()).includes(first.sha256), "the replaced version's bytes are gone");
    assert.equal((await unload({ lora_name: "stored" })).status, 200);
    assert.ok(!(await blobs()).includes(second.sha256), "the unloaded version's bytes are gone");
  });

  it("unloads: new requests get 404 model_not_found and the version's cache file goes", async () => {
    await load({ lora_name: "gone", lora_path: "a.gguf" });
    assert.ok(readdirSync(cacheDir).some((file) => file.startsWith("gone.v")));
    const response = await unload({ lora_name: "gone" });
    assert.deepEqual(await conforms("/v1/unload_lora_adapter", "post", response), { object: "lora_adapter.deleted", id: "gone", deleted: true });
    const after = await postJson(`${gateway.url}/v1/completions`, { model: "gone", prompt });
    assert.equal(after.status, 404);
    assert.equal((await conformsAsError(after)).error.code, "model_not_found");
    assert.ok(!(await modelIds(gateway.url)).includes("gone"));
    // Freed once drained, after the answer: nothing holds it, so that is at once.
    const leftover = await settle(async () => readdirSync(cacheDir).filter((file) => file.startsWith("gone.v")).length, 0);
    assert.equal(leftover, 0, "the drained version freed its file");
  });
});

describe("admin keys for the adapter routes", () => {
  let secured: TestGateway;
  before(async () => {
    secured = await startTestGateway({ ADAPTERS_DIR: dir, API_KEYS: "user-key", ADMIN_API_KEYS: "admin-key" });
  });
  after(async () => {
    await secured?.close();
  });

  it("answers 401 without a key, 403 to a plain key and serves an admin key", async () => {
    const body = { lora_name: "guarded", lora_path: "a.gguf" };
    const url = `${secured.url}/v1/load_lora_adapter`;
    const anonymous = await postJson(url, body);
    assert.equal(anonymous.status, 401);
    const plain = await postJson(url, body, { authorization: "Bearer user-key" });
    assert.equal(plain.status, 403);
    assert.equal((await conformsAsError(plain)).error.code, "insufficient_permissions");
    const unloadAsUser = await postJson(`${secured.url}/v1/unload_lora_adapter`, { lora_name: "guarded" }, { authorization: "Bearer user-key" });
    assert.equal(unloadAsUser.status, 403);
    const admin = await postJson(url, body, { authorization: "Bearer admin-key" });
    assert.equal(admin.status, 200);
    // Any valid key may use the adapter once it is loaded.
    const completion = await secured.client.completions.create({ model: "guarded", prompt, max_tokens: 2 });
    assert.match(completion.system_fingerprint ?? "", /:guarded@v\d+$/);
  });
});
