/**
 * A web page open in a browser on the gateway's machine must not be able to drive it: with no
 * keys configured (the default) a "simple" cross-site POST needs no preflight, so JSON routes
 * take only application/json, CORS is off unless CORS_ORIGINS lists origins, and a foreign
 * Origin may not change state.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conformsAsError } from "./openapi-validator.ts";

const completion = JSON.stringify({ model: "target", prompt: "hi", max_tokens: 1 });

async function expectCode(response: Response, status: number, code: string): Promise<void> {
  assert.equal(response.status, status, `${response.url}: ${response.status}`);
  assert.equal((await conformsAsError(response)).error.code, code);
}

describe("cross-site requests, CORS off (the default)", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startTestGateway();
  });
  after(async () => {
    await gateway.close();
  });
  const post = (path: string, body: BodyInit, headers: Record<string, string>) => fetch(`${gateway.url}${path}`, { method: "POST", headers, body });

  it("JSON routes refuse any other content type with 415, a missing one included", async () => {
    for (const path of ["/v1/completions", "/v1/chat/completions", "/v1/load_lora_adapter", "/v1/unload_lora_adapter"]) {
      await expectCode(await post(path, completion, { "content-type": "text/plain;charset=UTF-8" }), 415, "unsupported_media_type");
      await expectCode(await post(path, "model=target&prompt=hi", { "content-type": "application/x-www-form-urlencoded" }), 415, "unsupported_media_type");
      await expectCode(await post(path, "--b\r\n\r\n--b--", { "content-type": "multipart/form-data; boundary=b" }), 415, "unsupported_media_type");
      await expectCode(await post(path, new Blob([completion]), {}), 415, "unsupported_media_type");
    }
    assert.equal((await post("/v1/completions", completion, { "content-type": "Application/JSON; charset=utf-8" })).status, 200);
  });

  it("a foreign Origin may not change state (403), with or without a key; reads get no CORS grant", async () => {
    const evil = { "content-type": "application/json", origin: "http://evil.example" };
    await expectCode(await post("/v1/completions", completion, evil), 403, "origin_not_allowed");
    await expectCode(await post("/v1/load_lora_adapter", JSON.stringify({ lora_name: "x", lora_path: "x.gguf" }), evil), 403, "origin_not_allowed");
    await expectCode(await post("/v1/unload_lora_adapter", JSON.stringify({ lora_name: "x" }), { ...evil, origin: "null" }), 403, "origin_not_allowed");
    await expectCode(await post("/v1/completions", completion, { "content-type": "application/json", "sec-fetch-site": "cross-site" }), 403, "origin_not_allowed");
    // A DNS name pointing here could be the attacker's (rebinding): its own origin is not trusted.
    await expectCode(await post("/v1/completions", completion, { ...evil, origin: "http://rebound.example:1234", host: "rebound.example:1234" }), 403, "origin_not_allowed");
    const read = await fetch(`${gateway.url}/v1/models`, { headers: { origin: "http://evil.example" } });
    assert.equal(read.status, 200);
    assert.equal(read.headers.get("access-control-allow-origin"), null);
    const preflight = await fetch(`${gateway.url}/v1/completions`, { method: "OPTIONS", headers: { origin: "http://evil.example", "access-control-request-method": "POST" } });
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);
  });

  it("its own origin (as /docs sends it) and clients without Origin are served", async () => {
    const own = new URL(gateway.url).origin;
    assert.equal((await post("/v1/completions", completion, { "content-type": "application/json", origin: own, "sec-fetch-site": "same-origin" })).status, 200);
    assert.equal((await postJson(`${gateway.url}/v1/completions`, JSON.parse(completion))).status, 200);
  });
});

describe("CORS_ORIGINS", () => {
  let gateway: TestGateway;
  const app = "https://app.example";
  before(async () => {
    gateway = await startTestGateway({ CORS_ORIGINS: `${app},http://localhost:3000` });
  });
  after(async () => {
    await gateway.close();
  });

  it("answers a listed origin's preflight and requests with CORS headers", async () => {
    const preflight = await fetch(`${gateway.url}/v1/completions`, {
      method: "OPTIONS",
      headers: { origin: app, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), app);
    assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /authorization/);
    const response = await fetch(`${gateway.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json", origin: app }, body: completion });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("access-control-allow-origin"), app);
    assert.match(response.headers.get("access-control-expose-headers") ?? "", /x-request-id/);
  });

  it("still refuses origins it does not list", async () => {
    const response = await fetch(`${gateway.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json", origin: "https://other.example" }, body: completion });
    await expectCode(response, 403, "origin_not_allowed");
  });

  it("refuses a CORS_ORIGINS entry that is not an origin", async () => {
    await assert.rejects(startTestGateway({ CORS_ORIGINS: "https://app.example/path" }), /CORS_ORIGINS/);
    await assert.rejects(startTestGateway({ CORS_ORIGINS: "*" }), /CORS_ORIGINS/);
  });
});
