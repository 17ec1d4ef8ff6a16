import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { flagsToEnvironment, loadConfig } from "../src/config/config.ts";

describe("configuration", () => {
  it("defaults to loopback:8080 and the committed models, with no auth", () => {
    const config = loadConfig({});
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 8080);
    assert.deepEqual(config.models, [{ id: "target", path: "models/target.gguf" }]);
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
