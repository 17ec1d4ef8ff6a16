/**
 * The Bearer scheme in any case, bounded headers and URLs, and a log that never holds an API key
 * nor, unless LOG_PROMPTS=true, a prompt.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conformsAsError } from "./openapi-validator.ts";

const key = "sk-live-KEYMARK-0123456789";
const secret = "PROMPTMARK";

/** A raw HTTP/1.1 request (fetch cannot send oversized headers the way a hostile client would). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { headers }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode!, body }));
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

describe("auth scheme, header and URL limits, and what the log holds", () => {
  let gateway: TestGateway;
  const lines: string[] = [];
  before(async () => {
    gateway = await startTestGateway({ API_KEYS: key, MAX_HEADER_BYTES: "4096", MAX_URL_BYTES: "1024", LOG_LEVEL: "trace" }, { logLines: lines });
  });
  after(async () => {
    await gateway.close();
  });

  it("accepts the Bearer scheme in any case (RFC 7235), still refuses other schemes and wrong keys", async () => {
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      assert.equal((await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `${scheme} ${key}` } })).status, 200, scheme);
    }
    for (const header of [`Basic ${key}`, key, `Bearer${key}`, `bearer ${key}x`]) {
      const response = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: header } });
      assert.equal(response.status, 401, header);
      assert.equal((await conformsAsError(response)).error.code, "invalid_api_key");
    }
  });

  it("refuses headers past MAX_HEADER_BYTES with 431 and a URL past MAX_URL_BYTES with 414, in the error shape", async () => {
    const big = await rawGet(`${gateway.url}/v1/models`, { authorization: `Bearer ${key}`, "x-padding": "p".repeat(6000) });
    assert.equal(big.status, 431);
    assert.equal((JSON.parse(big.body) as { error: { code: string } }).error.code, "headers_too_large");
    const long = await fetch(`${gateway.url}/v1/models?${"q".repeat(2000)}`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(long.status, 414);
    assert.equal((await long.json() as { error: { code: string } }).error.code, "uri_too_long");
    assert.equal((await fetch(`${gateway.url}/v1/models?${"q".repeat(500)}`, { headers: { authorization: `Bearer ${key}` } })).status, 200);
  });

  it("logs neither the API key nor prompts, whatever the request", async () => {
    const auth = { authorization: `Bearer ${key}` };
    const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
    await client.completions.create({ model: "target", prompt: `${secret} once upon a time`, max_tokens: 2 });
    await client.chat.completions.create({ model: "target", messages: [{ role: "user", content: `${secret} hello` }], max_tokens: 2 });
    const stream = await client.completions.create({ model: "target", prompt: `${secret} streamed`, max_tokens: 2, stream: true });
    for await (const _ of stream) void _;
    // Refusals that quote or might quote the input: malformed JSON, wrong types, unknown fields, a wrong key.
    const refusals = [
      await fetch(`${gateway.url}/v1/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: `{"model":"target","prompt": ${secret} is not json}` }),
      await fetch(`${gateway.url}/v1/completions`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: `${secret} at the start` }),
      await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: secret, max_tokens: `${secret}` }, auth),
      await postJson(`${gateway.url}/v1/chat/completions`, { model: "target", messages: [{ role: "robot", content: secret }] }, auth),
      await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: secret }, { authorization: `bearer ${key}-wrong` }),
      await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: secret.repeat(5000), max_tokens: 4000 }, auth),
    ];
    assert.deepEqual(refusals.map((response) => response.status), [400, 400, 400, 400, 401, 400]);
    const log = lines.join("");
    assert.ok(lines.length >= 10, `${lines.length} log lines`);
    assert.ok(!log.includes("KEYMARK"), "an API key reached the log");
    assert.ok(!log.includes(secret), `a prompt reached the log:\n${lines.filter((line) => line.includes(secret)).join("")}`);
  });
});

describe("LOG_PROMPTS=true", () => {
  it("puts the prompt or messages into the request's log line (and still no key)", async () => {
    const lines: string[] = [];
    const gateway = await startTestGateway({ API_KEYS: key, LOG_PROMPTS: "true", LOG_LEVEL: "info" }, { logLines: lines });
    try {
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
      await client.completions.create({ model: "target", prompt: `${secret} one`, max_tokens: 1 });
      await client.chat.completions.create({ model: "target", messages: [{ role: "user", content: `${secret} two` }], max_tokens: 1 });
    } finally {
      await gateway.close();
    }
    const requests = lines.map((line) => JSON.parse(line) as { msg: string; prompt?: unknown }).filter((entry) => entry.msg === "request" && entry.prompt !== undefined);
    assert.equal(requests.length, 2);
    assert.equal(requests[0]!.prompt, `${secret} one`);
    assert.deepEqual(requests[1]!.prompt, [{ role: "user", content: `${secret} two` }]);
    assert.ok(!lines.join("").includes("KEYMARK"));
  });
});
