/**
 * The metric_aware extension through the official openai SDK (extra body fields) against a real
 * gateway: Monte Carlo and grid decisions with their evidence, usage counting every token
 * evaluated, the greedy fallback, 400s naming the field, LoRA adapters, and the law of grid
 * scoring checked against the model's own logprobs (raw at temperature 1; tempered and
 * truncated by top_k, which the top logprobs determine exactly).
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import OpenAI from "openai";
import { empirical } from "../kernels/metric/distribution.ts";
import { squaredError } from "../kernels/metric/metrics.ts";
import { formatNumber } from "../kernels/metric/parsers.ts";
import { expectedLoss, mean, median } from "../kernels/metric/rules.ts";
import type { MetricAwareEvidence, MetricAwareRequest } from "../src/protocol/metric-aware.ts";
import { adaptersDir, writeRandomAdapter } from "./adapter-fixtures.ts";
import { postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conforms } from "./openapi-validator.ts";

const dir = adaptersDir();
writeRandomAdapter(dir, "a.gguf", 12);
let gateway: TestGateway;
before(async () => {
  gateway = await startTestGateway({ ADAPTERS_DIR: dir });
  const loaded = await postJson(`${gateway.url}/v1/load_lora_adapter`, { lora_name: "a", lora_path: "a.gguf" });
  assert.equal(loaded.status, 200, await loaded.text());
});
after(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A prompt whose next token the demo model spreads over digits. */
const yearPrompt = "It was in 18";
const digits = Array.from({ length: 10 }, (_, d) => String(d));

interface MetricChoice {
  text: string;
  metric_aware: MetricAwareEvidence;
}

async function metricCompletion(body: Record<string, unknown>): Promise<{ choice: MetricChoice; usage: OpenAI.CompletionUsage }> {
  const response = await gateway.client.completions.create({ model: "target", prompt: yearPrompt, ...body } as OpenAI.CompletionCreateParamsNonStreaming);
  return { choice: response.choices[0] as unknown as MetricChoice, usage: response.usage! };
}

/** Raw next-token logprobs of the 5 most likely tokens, from a plain request. */
async function topLogprobs(model: string): Promise<Record<string, number>> {
  const plain = await gateway.client.completions.create({ model, prompt: yearPrompt, max_tokens: 1, temperature: 0, logprobs: 5 });
  return plain.choices[0]!.logprobs!.top_logprobs![0]!;
}

/** Each candidate's probability before renormalizing: what grid scoring read from the model. */
function masses(evidence: MetricAwareEvidence): Map<string | number, number> {
  return new Map(evidence.values.map(({ value, probability }) => [value, probability * evidence.candidate_mass!]));
}

describe("metric_aware: Monte Carlo", () => {
  it("answers the mean of the parsed samples, with the evidence, over waves of the pool's size", async () => {
    const plain = await gateway.client.completions.create({ model: "target", prompt: yearPrompt, max_tokens: 1, temperature: 0 });
    // 8 samples on SEQUENCES = 4: two waves, each evaluating the prompt once.
    const { choice, usage } = await metricCompletion({ max_tokens: 3, seed: 7, metric_aware: { metric: "squared_error", samples: 8, parse: "integer" } });
    const evidence = choice.metric_aware;
    assert.equal(evidence.estimator, "monte_carlo");
    assert.equal(evidence.samples, 8);
    const parsed = 8 - evidence.unparsable;
    assert.ok(parsed > 0);
    const total = evidence.values.reduce((sum, { probability }) => sum + probability, 0);
    assert.ok(Math.abs(total - 1) < 1e-12);
    for (const { probability } of evidence.values) assert.ok(Math.abs(probability * parsed - Math.round(probability * parsed)) < 1e-9, "each value's probability is a count over the parsed samples");
    const belief = evidence.values.map(({ value, probability }) => ({ value: value as number, weight: probability }));
    assert.equal(choice.text, formatNumber(mean(belief)));
    assert.ok(Math.abs(evidence.expected_loss! - expectedLoss(belief, mean(belief), squaredError)) < 1e-6 * (1 + evidence.expected_loss!));
    assert.equal(usage.prompt_tokens, 2 * plain.usage!.prompt_tokens, "two waves, one prompt evaluation each");
    assert.ok(usage.completion_tokens >= 1 && usage.completion_tokens <= 8 * 3);
  });

  it("samples follow the request's grammar, so every one parses", async () => {
    const { choice } = await metricCompletion({ max_tokens: 4, grammar: "root ::= [0-9] [0-9]", metric_aware: { metric: "absolute_error", samples: 4, parse: "integer" } });
    assert.equal(choice.metric_aware.unparsable, 0);
    for (const { value } of choice.metric_aware.values) assert.ok(Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 99);
  });

  it("falls back to greedy decoding when no sample parses, and says so", async () => {
    const greedy = await gateway.client.completions.create({ model: "target", prompt: yearPrompt, max_tokens: 4, temperature: 0 });
    const { choice, usage } = await metricCompletion({ max_tokens: 4, metric_aware: { metric: "exact_match", samples: 4, parse: { labels: ["zqxj"] } } });
    assert.deepEqual(choice.metric_aware, { estimator: "greedy_fallback", metric: "exact_match", values: [], samples: 4, unparsable: 4, expected_loss: null });
    assert.equal(choice.text, greedy.choices[0]!.text);
    assert.equal(usage.prompt_tokens, 2 * greedy.usage!.prompt_tokens, "the samples' prompt evaluation and the fallback's");
  });
});

describe("metric_aware: grid scoring", () => {
  it("chat through the SDK: the median over the candidates, with its evidence", async () => {
    const response = await gateway.client.chat.completions.create({
      model: "target",
      messages: [{ role: "user", content: "How many stars, 1 to 5?" }],
      metric_aware: { metric: "absolute_error", candidates: [" 1", " 2", " 3", " 4", " 5"] },
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const choice = response.choices[0] as unknown as { message: { content: string }; metric_aware: MetricAwareEvidence };
    const evidence = choice.metric_aware;
    assert.equal(evidence.estimator, "grid");
    assert.equal(evidence.samples, 5);
    assert.deepEqual(evidence.values.map(({ value }) => value).sort(), [1, 2, 3, 4, 5]);
    const probabilities = evidence.values.map(({ probability }) => probability);
    assert.deepEqual(probabilities, [...probabilities].sort((a, b) => b - a), "most probable first");
    assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.ok(evidence.candidate_mass! > 0 && evidence.candidate_mass! <= 1);
    const belief = evidence.values.map(({ value, probability }) => ({ value: value as number, weight: probability }));
    assert.equal(choice.message.content, String(median(belief)));
    // The demo tokenizer splits " 4" into a space and a digit: the five share the space, evaluated once.
    assert.equal(response.usage!.completion_tokens, 1);
  });

  it("at temperature 1 each candidate's probability is the model's own (its raw logprobs)", async () => {
    for (const model of ["target", "a"]) {
      const top = await topLogprobs(model);
      const { choice } = await metricCompletion({ model, metric_aware: { metric: "exact_match", candidates: digits, parse: "integer" } });
      const read = masses(choice.metric_aware);
      let compared = 0;
      for (const [token, logprob] of Object.entries(top)) {
        if (!digits.includes(token)) continue;
        assert.ok(Math.abs(read.get(Number(token))! - Math.exp(logprob)) < 1e-4, `${model}: P(${token}) ${read.get(Number(token))} vs ${Math.exp(logprob)}`);
        compared++;
      }
      assert.ok(compared >= 2, `${model}: digits among the top logprobs`);
    }
    const [base, adapted] = [await topLogprobs("target"), await topLogprobs("a")];
    assert.notDeepEqual(base, adapted, "the adapter changes the law, so the comparison above tells them apart");
  });

  it("tempered and truncated: top_k 3 at temperature 0.5 is the softmax of logprob / 0.5 over the top 3", async () => {
    const top = Object.entries(await topLogprobs("target")).sort((a, b) => b[1] - a[1]).slice(0, 3);
    const weights = top.map(([, logprob]) => Math.exp(logprob / 0.5));
    const sum = weights.reduce((a, b) => a + b, 0);
    const expected = new Map(top.map(([token], i) => [token, weights[i]! / sum]));
    const { choice } = await metricCompletion({ top_k: 3, metric_aware: { metric: "exact_match", candidates: digits, parse: "integer", temperature: 0.5 } });
    const read = masses(choice.metric_aware);
    for (const digit of digits) {
      assert.ok(Math.abs((read.get(Number(digit)) ?? 0) - (expected.get(digit) ?? 0)) < 1e-4, `P(${digit}): ${read.get(Number(digit))} vs ${expected.get(digit) ?? 0}`);
    }
  });

  it("shared prefixes are evaluated once, and a prefix candidate keeps only what does not continue into a longer one", async () => {
    const { choice: pair } = await metricCompletion({ metric_aware: { metric: "exact_match", candidates: ["1", "2"], parse: "integer" } });
    const p1 = masses(pair.metric_aware).get(1)!;
    const { choice, usage } = await metricCompletion({ metric_aware: { metric: "squared_error", candidates: { from: 0, to: 30, step: 1 } } });
    const read = masses(choice.metric_aware);
    // Digits are single tokens: "1", "2" and "3" are the only candidates with longer ones after them.
    assert.equal(usage.completion_tokens, 3);
    let oneAndAfter = read.get(1)!;
    for (let value = 10; value <= 19; value++) oneAndAfter += read.get(value)!;
    assert.ok(Math.abs(oneAndAfter - p1) < 1e-6, `P(1...) ${oneAndAfter} vs P(1) ${p1}`);
    assert.ok(choice.metric_aware.candidate_mass! <= 1 + 1e-9);
    const belief = choice.metric_aware.values.map(({ value, probability }) => ({ value: value as number, weight: probability }));
    assert.equal(choice.text, formatNumber(mean(belief)));
  });

  it("a pinball quantile and label sets", async () => {
    const { choice } = await metricCompletion({ metric_aware: { metric: "pinball", quantile: 0.9, candidates: digits } });
    assert.equal(choice.metric_aware.quantile, 0.9);
    let cumulative = 0;
    const sorted = [...choice.metric_aware.values].sort((a, b) => (a.value as number) - (b.value as number));
    const answer = sorted.find(({ probability }) => (cumulative += probability) >= 0.9 - 1e-12)!.value;
    assert.equal(choice.text, String(answer));
    const { choice: labelled } = await metricCompletion({ metric_aware: { metric: "exact_match", candidates: ["0", "9"], parse: { labels: ["0", "9"] } } });
    assert.equal(labelled.text, String(labelled.metric_aware.values[0]!.value));
    assert.equal(typeof labelled.metric_aware.values[0]!.value, "string");
    assert.equal(empirical([labelled.text]).length, 1);
  });
});

describe("metric_aware: samples may speculate", () => {
  let speculating: TestGateway;
  before(async () => {
    speculating = await startTestGateway({ SPECULATION: "auto", SEQUENCES: "8" });
  });
  after(async () => {
    await speculating?.close();
  });

  it("Monte Carlo samples decode with SpecTr when the request asks, and usage says so", async () => {
    const response = await speculating.client.completions.create({
      model: "target",
      prompt: yearPrompt,
      max_tokens: 4,
      speculation: { k: 2, l: 2 },
      metric_aware: { metric: "absolute_error", samples: 4, parse: "integer" },
    } as OpenAI.CompletionCreateParamsNonStreaming);
    const choice = response.choices[0] as unknown as MetricChoice;
    assert.equal(choice.metric_aware.estimator, "monte_carlo");
    assert.equal(choice.metric_aware.samples, 4);
    const usage = response.usage as OpenAI.CompletionUsage & { spec_decode?: { num_drafts: number } };
    assert.ok(usage.spec_decode !== undefined && usage.spec_decode.num_drafts > 0, JSON.stringify(usage));
  });
});

describe("metric_aware: bad input is a 400 naming the field", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["unknown metric", { metric_aware: { metric: "rmse" } }, "metric_aware.metric"],
    ["quantile outside (0, 1)", { metric_aware: { metric: "pinball", quantile: 1 } }, "metric_aware.quantile"],
    ["pinball without quantile", { metric_aware: { metric: "pinball" } }, "metric_aware.quantile"],
    ["quantile on another metric", { metric_aware: { metric: "absolute_error", quantile: 0.5 } }, "metric_aware.quantile"],
    ["samples above METRIC_AWARE_MAX_SAMPLES", { metric_aware: { metric: "squared_error", samples: 33 } }, "metric_aware.samples"],
    ["samples with candidates", { metric_aware: { metric: "squared_error", samples: 4, candidates: ["1"] } }, "metric_aware.samples"],
    ["samples x max_tokens over the budget", { max_tokens: 300, metric_aware: { metric: "squared_error", samples: 32 } }, "metric_aware.samples"],
    ["empty candidates", { metric_aware: { metric: "squared_error", candidates: [] } }, "metric_aware.candidates"],
    ["unparsable candidate", { metric_aware: { metric: "squared_error", candidates: ["1", "one"] } }, "metric_aware.candidates"],
    ["duplicate answers", { metric_aware: { metric: "squared_error", candidates: ["1", " 1"] } }, "metric_aware.candidates"],
    ["a range too long", { metric_aware: { metric: "squared_error", candidates: { from: 0, to: 1000, step: 1 } } }, "metric_aware.candidates"],
    ["an empty range", { metric_aware: { metric: "squared_error", candidates: { from: 5, to: 1, step: 1 } } }, "metric_aware.candidates"],
    ["labels with a numeric metric", { metric_aware: { metric: "absolute_error", parse: { labels: ["a"] } } }, "metric_aware.parse"],
    ["temperature 0", { metric_aware: { metric: "absolute_error", temperature: 0 } }, "metric_aware.temperature"],
    ["unknown field", { metric_aware: { metric: "absolute_error", samplez: 3 } }, "metric_aware.samplez"],
    ["with stream", { stream: true, metric_aware: { metric: "absolute_error" } }, "stream"],
    ["with n > 1", { n: 2, metric_aware: { metric: "absolute_error" } }, "n"],
    ["with best_of", { best_of: 2, metric_aware: { metric: "absolute_error" } }, "best_of"],
    ["with logprobs", { logprobs: 1, metric_aware: { metric: "absolute_error" } }, "logprobs"],
    ["with echo", { echo: true, metric_aware: { metric: "absolute_error" } }, "echo"],
    ["candidates with a grammar", { grammar: 'root ::= [0-9]', metric_aware: { metric: "absolute_error", candidates: ["1"] } }, "metric_aware.candidates"],
  ];
  for (const [name, body, param] of cases) {
    it(name, async () => {
      const response = await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: yearPrompt, ...body });
      assert.equal(response.status, 400);
      const clone = response.clone();
      const error = ((await response.json()) as { error: { param: string; type: string } }).error;
      assert.equal(error.param, param, JSON.stringify(error));
      assert.equal(error.type, "invalid_request_error");
      await conforms("/v1/completions", "post", clone, 400);
    });
  }

  it("chat: with tools", async () => {
    const tools = [{ type: "function", function: { name: "rate", parameters: { type: "object", properties: {} } } }];
    const response = await postJson(`${gateway.url}/v1/chat/completions`, { model: "target", messages: [{ role: "user", content: "x" }], tools, metric_aware: { metric: "absolute_error" } });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: { param: string } }).error.param, "tools");
  });

  it("the SDK raises BadRequestError with the param (chat)", async () => {
    await assert.rejects(
      gateway.client.chat.completions.create({ model: "target", messages: [{ role: "user", content: "x" }], metric_aware: { metric: "pinball", quantile: 0 } as MetricAwareRequest } as OpenAI.ChatCompletionCreateParamsNonStreaming),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "metric_aware.quantile",
    );
  });
});

describe("metric_aware: responses conform to openapi.yaml", () => {
  it("completions and chat, both estimators", async () => {
    const bodies: [string, Record<string, unknown>][] = [
      ["/v1/completions", { model: "target", prompt: yearPrompt, max_tokens: 2, metric_aware: { metric: "absolute_error", samples: 3 } }],
      ["/v1/completions", { model: "target", prompt: [yearPrompt, "In the year 1"], metric_aware: { metric: "pinball", quantile: 0.25, candidates: digits } }],
      ["/v1/chat/completions", { model: "target", messages: [{ role: "user", content: "Rate it" }], max_tokens: 2, metric_aware: { metric: "exact_match", samples: 2 } }],
    ];
    for (const [path, body] of bodies) {
      const response = await postJson(`${gateway.url}${path}`, body);
      assert.equal(response.status, 200, await response.clone().text());
      await conforms(path, "post", response, 200);
    }
  });
});
