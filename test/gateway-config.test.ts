import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { flagsToEnvironment, loadConfig } from "../src/config/config.ts";
import { systemFingerprint } from "../src/service/fingerprint.ts";

describe("configuration", () => {
  it("defaults to loopback:8080 and the committed models, with no auth", () => {
    const config = loadConfig({});
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 8080);
    assert.deepEqual(config.models, [{ id: "target", path: "models/target.gguf", kind: "generative" }]);
    assert.equal(config.draftModelPath, "models/draft.gguf");
    assert.equal(config.redisUrl, undefined);
    assert.deepEqual(config.apiKeys, []);
    assert.equal(config.threads, 1);
  });

  it("reads keys and extra models from the environment", () => {
    const config = loadConfig({ API_KEYS: "a, b,", ADMIN_API_KEYS: "c", MODELS: "small=/m/s.gguf,big=/m/b.gguf", REDIS_URL: "redis://x:1" });
    assert.deepEqual(config.apiKeys, ["a", "b"]);
    assert.deepEqual(config.adminApiKeys, ["c"]);
    assert.deepEqual(config.models.map((model) => model.id), ["target", "small", "big"]);
    assert.equal(config.redisUrl, "redis://x:1");
  });

  it("gives every model its kind: MODELS generative, EMBEDDING_MODELS embedding; ids unique across kinds", () => {
    const config = loadConfig({ MODELS: "small=/m/s.gguf", EMBEDDING_MODELS: "e5=/m/e.gguf" });
    assert.deepEqual(config.models.map((model) => [model.id, model.kind]), [["target", "generative"], ["small", "generative"], ["e5", "embedding"]]);
    assert.throws(() => loadConfig({ EMBEDDING_MODELS: "target=/m/e.gguf" }), /unique/);
    assert.throws(() => loadConfig({ EMBEDDING_MODELS: "/m/e.gguf" }), /EMBEDDING_MODELS entry/);
  });

  it("has a system fingerprint that changes with the model files, the configuration and the version", () => {
    const directory = mkdtempSync(join(tmpdir(), "fingerprint-"));
    try {
      const model = join(directory, "m.gguf");
      writeFileSync(model, "one");
      const config = loadConfig({ TARGET_MODEL: model, DRAFT_MODEL: "" });
      const first = systemFingerprint(config);
      assert.match(first, /^fp_[0-9a-f]{12}$/);
      assert.equal(systemFingerprint(config), first, "stable for the same files");
      writeFileSync(model, "other bytes");
      utimesSync(model, new Date(), new Date(Date.now() + 5000));
      const replaced = systemFingerprint(config);
      assert.notEqual(replaced, first, "a replaced model file");
      assert.notEqual(systemFingerprint({ ...config, speculation: { ...config.speculation, maxK: 2 } }), replaced, "another speculation setting");
      assert.notEqual(systemFingerprint({ ...config, models: [...config.models, { id: "e", path: model, kind: "embedding" }] }), replaced, "another model");
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("has adapter defaults: adapters/ under the working directory, 64 MiB, a 200 ms sync", () => {
    const config = loadConfig({});
    assert.equal(config.adaptersDir, "adapters");
    assert.equal(config.adapterMaxBytes, 64 * 1024 * 1024);
    assert.equal(config.adapterCacheDir, undefined);
    assert.equal(config.adapterSyncMs, 200);
    assert.equal(loadConfig({ ADAPTERS_DIR: "/srv/loras", ADAPTER_MAX_BYTES: "1024" }).adapterMaxBytes, 1024);
    assert.throws(() => loadConfig({ ADAPTER_SYNC_MS: "5" }), /ADAPTER_SYNC_MS/);
    assert.throws(() => loadConfig({ ADAPTER_MAX_BYTES: "0" }), /ADAPTER_MAX_BYTES/);
  });

  it("lets flags override the environment", () => {
    assert.deepEqual(flagsToEnvironment(["--port=9000", "--log-level", "debug", "--metrics-auth"]), { PORT: "9000", LOG_LEVEL: "debug", METRICS_AUTH: "true" });
    assert.equal(loadConfig({ PORT: "1" }, ["--port", "2"]).port, 2);
  });

  it("refuses invalid values and duplicate model ids, naming them", () => {
    assert.throws(() => loadConfig({ PORT: "http" }), /PORT/);
    assert.throws(() => loadConfig({ LOG_LEVEL: "loud" }), /LOG_LEVEL/);
    assert.throws(() => loadConfig({ MODELS: "target=/x.gguf" }), /unique/);
    assert.throws(() => loadConfig({ MODELS: "nopath" }), /id=path/);
  });
});
