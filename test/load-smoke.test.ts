/**
 * The CI stand-in for loadtest/ (k6 cannot be installed here): the k6 scripts' traffic mix,
 * smaller, from Node against a real gateway: greedy and sampled completions, streaming chat
 * and speculative requests from 8 concurrent clients, more clients than sequences so requests
 * queue. Asserts what the k6 thresholds assert, except latency (no timings in tests): no
 * failed request, every stream complete, and nothing left leased afterwards.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { metric, postJson, settle, startTestGateway, type TestGateway } from "./gateway-harness.ts";

const prompts = ["The President said", "Call me Ishmael. Some years ago,", "In the year of our Lord", "We the people", "It was the whale"];
const CLIENTS = 8;
const REQUESTS_PER_CLIENT = 6;

describe("load smoke (the loadtest/ mix from Node)", () => {
  let gateway: TestGateway;
  before(async () => {
    gateway = await startTestGateway({ SPECULATION: "auto", SEQUENCES: "4" });
  });
  after(async () => {
    await gateway.close();
  });

  const request = async (client: number, i: number): Promise<string> => {
    const prompt = prompts[(client + i) % prompts.length]!;
    switch (i % 3) {
      case 0: {
        const response = await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt, max_tokens: 24, temperature: client % 2 });
        const body = (await response.json()) as { choices?: { text: string }[] };
        return response.status === 200 && typeof body.choices?.[0]?.text === "string" ? "ok" : `completion ${response.status}`;
      }
      case 1: {
        const response = await postJson(`${gateway.url}/v1/chat/completions`, { model: "target", messages: [{ role: "user", content: prompt }], max_tokens: 24, stream: true });
        const text = await response.text();
        return response.status === 200 && text.trimEnd().endsWith("data: [DONE]") && !text.includes('"error"') ? "ok" : `stream ${response.status}`;
      }
      default: {
        const response = await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt, max_tokens: 24, temperature: 0, speculation: { k: 2, l: 4 } });
        const body = (await response.json()) as { usage?: { spec_decode?: unknown } };
        return response.status === 200 && body.usage?.spec_decode !== undefined ? "ok" : `speculative ${response.status}`;
      }
    }
  };

  it(`${CLIENTS} clients x ${REQUESTS_PER_CLIENT} mixed requests: none fails, nothing stays leased`, async () => {
    const outcomes = await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
      const results: string[] = [];
      for (let i = 0; i < REQUESTS_PER_CLIENT; i++) results.push(await request(client, i));
      return results;
    }));
    const failures = outcomes.flat().filter((outcome) => outcome !== "ok");
    assert.deepEqual(failures, []);
    assert.equal(await settle(() => metric(gateway.url, "num_sequences_active"), 0), 0);
    assert.equal(await settle(() => metric(gateway.url, "num_draft_sequences_active"), 0), 0);
  });
});
