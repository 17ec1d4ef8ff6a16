import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { pino } from "pino";
import { loadConfig } from "../src/config/config.ts";
import { startServer, type RunningServer } from "../src/server.ts";
import { metric, modelPath, postJson, settle } from "./gateway-harness.ts";

interface LogLine {
  msg: string;
  request_id?: string;
  status?: number;
  path?: string;
  prompt_tokens?: number;
  completion_tokens?: number;
  ttft_ms?: number;
  queue_ms?: number;
  total_ms?: number;
}

const lines: LogLine[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line) as LogLine);
    done();
  },
});

let server: RunningServer;
let client: OpenAI;
before(async () => {
  const config = loadConfig({ HOST: "127.0.0.1", PORT: "0", TARGET_MODEL: modelPath("target"), TARGET_MODEL_ID: "target", DRAFT_MODEL: modelPath("draft"), SEQUENCES: "2" });
  server = await startServer(config, pino({ level: "info" }, sink));
  await server.loaded;
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
after(async () => {
  await server.shutdown(5_000);
});

const requestLines = (id: string) => lines.filter((line) => line.msg === "request" && line.request_id === id);

describe("one JSON log line per request", () => {
  it("carries the request id, status, tokens and timings", async () => {
    const { data, response } = await client.completions.create({ model: "target", prompt: "Hello", max_tokens: 3, temperature: 0, ignore_eos: true } as never).withResponse();
    const [line, ...more] = requestLines(response.headers.get("x-request-id")!);
    assert.equal(more.length, 0);
    assert.equal(line!.status, 200);
    assert.equal(line!.path, "/v1/completions");
    assert.equal(line!.prompt_tokens, (data as { usage: { prompt_tokens: number } }).usage.prompt_tokens);
    assert.equal(line!.completion_tokens, 3);
    for (const timing of [line!.ttft_ms, line!.queue_ms, line!.total_ms]) assert.equal(typeof timing, "number");
  });

  it("is written when a stream ends, once", async () => {
    const response = await postJson(`${server.url}/v1/completions`, { model: "target", prompt: "Hello", max_tokens: 4, stream: true, ignore_eos: true });
    const id = response.headers.get("x-request-id")!;
    await response.text();
    assert.equal(await settle(async () => requestLines(id).length, 1), 1);
    assert.equal(requestLines(id)[0]!.completion_tokens, 4);
  });

  it("records a client that went away as 499", async () => {
    const response = await postJson(`${server.url}/v1/completions`, { model: "target", prompt: "Hello", max_tokens: 400, stream: true, ignore_eos: true });
    const id = response.headers.get("x-request-id")!;
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    assert.equal(await settle(async () => requestLines(id).length, 1), 1);
    assert.equal(requestLines(id)[0]!.status, 499);
  });

  it("logs errors with their status", async () => {
    const response = await postJson(`${server.url}/v1/completions`, { model: "absent", prompt: "Hello" });
    assert.equal(requestLines(response.headers.get("x-request-id")!)[0]!.status, 404);
  });
});

describe("Prometheus metrics", () => {
  it("observe latency histograms and token counters under the vLLM names", async () => {
    await client.completions.create({ model: "target", prompt: "Hello", max_tokens: 3, temperature: 0, ignore_eos: true } as never);
    for (const name of ["time_to_first_token_seconds_count", "inter_token_latency_seconds_count", "e2e_request_latency_seconds_count", "request_queue_time_seconds_count", "prompt_tokens_total", "generation_tokens_total", "http_requests_total"]) {
      assert.ok((await metric(server.url, name)) > 0, name);
    }
    for (const name of ["num_requests_running", "num_requests_waiting", "num_sequences_active"]) assert.equal(await metric(server.url, name), 0, name);
  });
});
