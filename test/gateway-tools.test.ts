/**
 * Tools through the official openai SDK and LangChain's ChatOpenAI against a real gateway:
 * tool_choice required / named / auto / none, parallel calls, OpenAI's streaming delta shape,
 * role "tool" history, and 400s naming the field. Calls required by tool_choice are decoded
 * under a grammar of calls, so their arguments always validate against the tool's parameters,
 * whatever the tiny model's choices. The last suite runs LangChain and the SDK against `npm start`
 * with its defaults (the 512-token context), as a new user would.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ChatOpenAI } from "@langchain/openai";
import OpenAI from "openai";
import { z } from "zod";
import { defaultToolSyntax } from "../src/engine/tool-format.ts";
import { renameRules } from "../src/engine/tool-grammar.ts";
import { ToolCallReader } from "../src/service/tool-calls.ts";
import { postJson, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { spawnGateway, type GatewayProcess } from "./gateway-process.ts";
import { conforms, conformsTo } from "./openapi-validator.ts";
import { ajv, assertValidJson, expect400 } from "./structured-checks.ts";

let gateway: TestGateway;
before(async () => {
  // The tools' system prompt takes ~370 of the demo model's 512 positions; a whole call needs ~150 more.
  gateway = await startTestGateway({ CONTEXT_SIZE: "1024" });
});
after(async () => {
  await gateway.close();
});

const weather = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { enum: ["Oslo", "Lima", "Pune"] }, unit: { enum: ["C", "F"] }, days: { type: "integer" } }, required: ["city", "unit", "days"], additionalProperties: false },
  },
};
const search = {
  type: "function" as const,
  function: { name: "search", parameters: { type: "object", properties: { query: { type: "string", maxLength: 20 } }, required: ["query"], additionalProperties: false } },
};
const tools = [weather, search];
const schemaOf = (name: string) => tools.find((tool) => tool.function.name === name)!.function.parameters;
const messages = [{ role: "user" as const, content: "What is the weather in Oslo?" }];

function assertCall(call: { type: string; id: string; function: { name: string; arguments: string } }, names: string[]): void {
  assert.equal(call.type, "function");
  assert.match(call.id, /^call_/);
  assert.ok(names.includes(call.function.name), call.function.name);
  assertValidJson(schemaOf(call.function.name), call.function.arguments);
}

describe("reading calls out of text", () => {
  it("gives the same calls and content whatever the chunking", () => {
    const text = 'Sure. <tool_call>{"name": "search", "arguments": {"query": "a \\"}\\" b"}}</tool_call>\n<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "C", "days": 2}}</tool_call>';
    const whole = new ToolCallReader(defaultToolSyntax);
    const content = [...whole.push(text), ...whole.finish()].map((event) => (event.kind === "content" ? event.text : "")).join("");
    assert.equal(content, "Sure. ");
    assert.deepEqual(whole.calls.map((call) => [call.function.name, JSON.parse(call.function.arguments)]), [["search", { query: 'a "}" b' }], ["get_weather", { city: "Oslo", unit: "C", days: 2 }]]);
    for (const size of [1, 2, 3, 7]) {
      const reader = new ToolCallReader(defaultToolSyntax);
      const argumentsByCall: string[] = [];
      for (let i = 0; i < text.length; i += size) {
        for (const event of reader.push(text.slice(i, i + size))) {
          if (event.kind === "call") argumentsByCall[event.delta.index] = (argumentsByCall[event.delta.index] ?? "") + event.delta.function.arguments;
        }
      }
      reader.finish();
      assert.deepEqual(argumentsByCall, whole.calls.map((call) => call.function.arguments));
    }
  });

  it("renames every rule of a grammar, not its literals or classes", () => {
    assert.equal(renameRules('root ::= "a-b" x-y [a-z] # c\nx-y ::= "\\"q" root', "t0-"), 't0-root ::= "a-b" t0-x-y [a-z] \nt0-x-y ::= "\\"q" t0-root');
  });
});

describe("tools with the openai SDK", () => {
  it("tool_choice required gives calls whose arguments validate", async () => {
    const completion = await gateway.client.chat.completions.create({ model: "target", messages, tools, tool_choice: "required", temperature: 1, n: 3, max_tokens: 120 });
    for (const choice of completion.choices) {
      assert.equal(choice.message.content, null);
      assert.ok(choice.message.tool_calls!.length >= 1);
      // Parallel calls: the model may go on calling until max_tokens cuts its last call short.
      const complete = choice.finish_reason === "tool_calls" ? choice.message.tool_calls! : choice.message.tool_calls!.slice(0, -1);
      assert.ok(["tool_calls", "length"].includes(choice.finish_reason), choice.finish_reason);
      for (const call of complete) assertCall(call as never, ["get_weather", "search"]);
    }
  });

  // One get_weather call is at most ~150 characters under its grammar, and every token is at
  // least one character, so 160 tokens always complete it, whatever the sampled whitespace.
  it("a named function, one call without parallel calls", async () => {
    const completion = await gateway.client.chat.completions.create({ model: "target", messages, tools, tool_choice: { type: "function", function: { name: "get_weather" } }, parallel_tool_calls: false, temperature: 1, n: 2, max_tokens: 160 });
    for (const choice of completion.choices) {
      assert.equal(choice.finish_reason, "tool_calls");
      assert.equal(choice.message.tool_calls!.length, 1);
      assertCall(choice.message.tool_calls![0] as never, ["get_weather"]);
    }
  });

  it("streams calls in OpenAI's delta shape", async () => {
    const stream = await gateway.client.chat.completions.create({ model: "target", messages, tools, tool_choice: { type: "function", function: { name: "get_weather" } }, parallel_tool_calls: false, temperature: 1, seed: 3, max_tokens: 160, stream: true });
    const calls: { id: string; type: string; function: { name: string; arguments: string } }[] = [];
    let finish: string | null = null;
    let fragments = 0;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice === undefined) continue;
      finish = choice.finish_reason ?? finish;
      for (const delta of choice.delta.tool_calls ?? []) {
        if (delta.id !== undefined) {
          assert.equal(delta.index, calls.length);
          assert.equal(delta.type, "function");
          assert.equal(delta.function!.arguments, "");
          calls.push({ id: delta.id, type: "function", function: { name: delta.function!.name!, arguments: "" } });
        } else {
          assert.equal(delta.function!.name, undefined);
          calls[delta.index]!.function.arguments += delta.function!.arguments;
          fragments++;
        }
      }
    }
    assert.equal(finish, "tool_calls");
    assert.ok(calls.length >= 1 && fragments > 1, "arguments arrive in fragments");
    for (const call of calls) assertCall(call, ["get_weather"]);
  });

  it("a forced call cut short by max_tokens shows none of its syntax as content", async () => {
    // Three tokens end the turn inside `<tool_call>{"name": "`: nothing a reader could return as a call.
    const completion = await gateway.client.chat.completions.create({ model: "target", messages, tools, tool_choice: "required", temperature: 1, n: 2, max_tokens: 3 });
    for (const choice of completion.choices) {
      assert.equal(choice.finish_reason, "length");
      assert.equal(choice.message.content, null);
    }
    const stream = await gateway.client.chat.completions.create({ model: "target", messages, tools, tool_choice: { type: "function", function: { name: "get_weather" } }, temperature: 1, max_tokens: 3, stream: true });
    let content = "";
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
    assert.equal(content, "");
  });

  it("takes assistant tool_calls and role tool results in the history", async () => {
    const history = [
      ...messages,
      { role: "assistant" as const, content: null, tool_calls: [{ id: "call_1", type: "function" as const, function: { name: "get_weather", arguments: '{"city": "Oslo", "unit": "C", "days": 1}' } }] },
      { role: "tool" as const, tool_call_id: "call_1", content: '{"temperature": 4, "sky": "snow"}' },
    ];
    const without = await gateway.client.chat.completions.create({ model: "target", messages, tools, tool_choice: "none", temperature: 0, max_tokens: 4 });
    const answered = await gateway.client.chat.completions.create({ model: "target", messages: history, tools, tool_choice: "none", temperature: 0, max_tokens: 4 });
    assert.equal(typeof answered.choices[0]!.message.content, "string");
    assert.equal(answered.choices[0]!.message.tool_calls, undefined);
    assert.ok(answered.usage!.prompt_tokens > without.usage!.prompt_tokens + 20, "the call and its result are in the prompt");
  });

  it("auto answers with text or calls", async () => {
    const completion = await gateway.client.chat.completions.create({ model: "target", messages, tools, temperature: 0, max_tokens: 16 });
    const choice = completion.choices[0]!;
    if (choice.finish_reason === "tool_calls") assert.ok(choice.message.tool_calls!.length > 0);
    else assert.equal(typeof choice.message.content, "string");
  });
});

describe("a chat template with a tool format of its own", () => {
  // test/fixtures/tools-template.jinja: Qwen 2.5's tool section (tools in <tools>, calls in
  // <tool_call> blocks, results in <tool_response>), which node-llama-cpp reads the syntax out of.
  let templated: TestGateway;
  before(async () => {
    templated = await startTestGateway({ CHAT_TEMPLATE: "test/fixtures/tools-template.jinja" });
  });
  after(async () => {
    await templated.close();
  });

  it("renders tools, calls and results through the template and constrains calls in its syntax", async () => {
    const completion = await templated.client.chat.completions.create({ model: "target", messages, tools: [weather], tool_choice: "required", parallel_tool_calls: false, temperature: 1, n: 2, max_tokens: 45 });
    // The template's system text leaves room for 45 tokens, and the demo tokenizer spells the
    // call's syntax in short pieces: a call may be cut, but what is there is the template's syntax.
    for (const choice of completion.choices) {
      assert.equal(choice.message.tool_calls!.length, 1);
      assert.equal((choice.message.tool_calls![0] as { function: { name: string } }).function.name, "get_weather");
      if (choice.finish_reason === "tool_calls") assertCall(choice.message.tool_calls![0] as never, ["get_weather"]);
      else assert.equal(choice.finish_reason, "length");
    }
    const small = { type: "function" as const, function: { name: "f", parameters: { type: "object", properties: { x: { enum: ["a", "b"] } }, required: ["x"], additionalProperties: false } } };
    const history = [...messages, { role: "assistant" as const, content: null, tool_calls: [{ id: "c1", type: "function" as const, function: { name: "f", arguments: '{"x": "a"}' } }] }, { role: "tool" as const, tool_call_id: "c1", content: "sunny" }];
    const asked = await templated.client.chat.completions.create({ model: "target", messages, tools: [small], tool_choice: "none", temperature: 0, max_tokens: 4 });
    const answered = await templated.client.chat.completions.create({ model: "target", messages: history, tools: [small], temperature: 0, max_tokens: 4 });
    assert.ok(answered.usage!.prompt_tokens > asked.usage!.prompt_tokens + 20, "the call and its result are in the prompt");
  });
});

describe("openapi.yaml documents tools and structured output", () => {
  it("requests, responses and stream chunks conform", async () => {
    const history = [...messages, { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "search", arguments: '{"query": "x"}' } }] }, { role: "tool", tool_call_id: "call_1", content: "none" }];
    const requests = [
      { model: "target", messages: history, tools, tool_choice: "required", parallel_tool_calls: false, temperature: 1, max_tokens: 60 },
      { model: "target", messages, response_format: { type: "json_schema", json_schema: { name: "w", schema: weather.function.parameters, strict: true } }, temperature: 1, max_tokens: 60 },
      { model: "target", messages, grammar: 'root ::= "yes" | "no"', max_tokens: 4 },
    ];
    for (const request of requests) {
      conformsTo("ChatCompletionRequest", request);
      await conforms("/v1/chat/completions", "post", await postJson(`${gateway.url}/v1/chat/completions`, request));
      const text = await (await postJson(`${gateway.url}/v1/chat/completions`, { ...request, stream: true })).text();
      const events = text.split("\n\n").filter((event) => event.startsWith("data: ") && event !== "data: [DONE]");
      for (const event of events) conformsTo("ChatCompletionChunk", JSON.parse(event.slice("data: ".length)));
    }
    conformsTo("CompletionRequest", { model: "target", prompt: "x", grammar: 'root ::= "a"' });
  });
});

describe("tools that cannot be honoured are a 400 naming the field", () => {
  const chat = (body: object) => postJson(`${gateway.url}/v1/chat/completions`, { model: "target", messages, max_tokens: 4, ...body });

  it("invalid parameters, an unknown function, tool_choice without tools, duplicate names", async () => {
    const bad = { type: "function", function: { name: "f", parameters: { type: "object", properties: { x: { type: "string", pattern: "^a" } } } } };
    await expect400(await chat({ tools: [bad] }), "tools[0].function.parameters.properties.x", /"pattern"/);
    await expect400(await chat({ tools: [weather, { type: "function", function: { name: "g", parameters: { type: "objekt" } } }] }), "tools[1].function.parameters.type", /Unknown type/);
    await expect400(await chat({ tools, tool_choice: { type: "function", function: { name: "nope" } } }), "tool_choice", /"nope"/);
    await expect400(await chat({ tool_choice: "required" }), "tool_choice", /needs tools/);
    await expect400(await chat({ tools: [weather, weather] }), "tools[1].function.name", /Two tools/);
    await expect400(await chat({ tools, tool_choice: "required", response_format: { type: "json_object" } }), "tool_choice", /send one of them/);
  });
});

describe("LangChain's ChatOpenAI", () => {
  // One call per turn: parallel calls would let the tiny model call until max_tokens cuts the last.
  const model = () => new ChatOpenAI({ model: "target", apiKey: "unused", temperature: 1, maxTokens: 120, maxRetries: 0, modelKwargs: { parallel_tool_calls: false }, configuration: { baseURL: `${gateway.url}/v1` } });
  const Weather = z.object({ city: z.enum(["Oslo", "Lima"]), unit: z.enum(["C", "F"]) });

  it("bindTools with a required call round-trips to tool_calls with parsed arguments", async () => {
    const message = await model().bindTools([weather], { tool_choice: "required" }).invoke("What is the weather in Oslo?");
    assert.ok(message.tool_calls!.length >= 1);
    for (const call of message.tool_calls!) {
      assert.equal(call.name, "get_weather");
      assert.ok(ajv.validate(weather.function.parameters, call.args), JSON.stringify(call.args));
    }
  });

  it("withStructuredOutput, by JSON schema and by function calling", async () => {
    for (const method of ["jsonSchema", "functionCalling"] as const) {
      const result = await model().withStructuredOutput(Weather, { name: "weather", method }).invoke("Weather in Lima as JSON");
      assert.deepEqual(Object.keys(result).sort(), ["city", "unit"], method);
      assert.ok(Weather.safeParse(result).success, `${method}: ${JSON.stringify(result)}`);
    }
  });

  it("streams a required call", async () => {
    let gathered: Awaited<ReturnType<ReturnType<ReturnType<typeof model>["bindTools"]>["invoke"]>> | undefined;
    for await (const chunk of await model().bindTools([weather], { tool_choice: "get_weather" }).stream("Weather?")) gathered = gathered === undefined ? chunk : gathered.concat(chunk);
    assert.equal(gathered!.tool_calls![0]!.name, "get_weather");
    assert.ok(ajv.validate(weather.function.parameters, gathered!.tool_calls![0]!.args));
  });
});

describe("against npm start with its defaults (the demo model's 512-token context)", () => {
  let started: GatewayProcess;
  before(async () => {
    started = await spawnGateway({}, { viaNpm: true });
  });
  after(async () => {
    started.process.kill("SIGTERM");
    await started.exit;
  });
  // Greedy, so each answer is one fixed text (a sampled integer could run to max_tokens).
  const model = () => new ChatOpenAI({ model: "target", apiKey: "unused", temperature: 0, maxTokens: 120, maxRetries: 0, modelKwargs: { parallel_tool_calls: false }, configuration: { baseURL: `${started.url}/v1` } });

  it("LangChain's bindTools (a named call) and withStructuredOutput work", async () => {
    const message = await model().bindTools([weather], { tool_choice: "get_weather" }).invoke("What is the weather in Oslo?");
    assert.equal(message.tool_calls![0]!.name, "get_weather");
    assert.ok(ajv.validate(weather.function.parameters, message.tool_calls![0]!.args), JSON.stringify(message.tool_calls));
    const Weather = z.object({ city: z.enum(["Oslo", "Lima"]), unit: z.enum(["C", "F"]) });
    const result = await model().withStructuredOutput(Weather, { name: "weather", method: "jsonSchema" }).invoke("Weather in Lima as JSON");
    assert.ok(Weather.safeParse(result).success, JSON.stringify(result));
  });

  it("the openai SDK's response_format json_schema and a required tool call work", async () => {
    const client = new OpenAI({ baseURL: `${started.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const schema = { type: "object", properties: { city: { enum: ["Oslo", "Lima"] }, days: { type: "integer" } }, required: ["city", "days"], additionalProperties: false };
    const structured = await client.chat.completions.create({ model: "target", messages, max_tokens: 60, temperature: 0, response_format: { type: "json_schema", json_schema: { name: "w", schema, strict: true } } });
    assert.equal(structured.choices[0]!.finish_reason, "stop");
    assertValidJson(schema, structured.choices[0]!.message.content!);
    const called = await client.chat.completions.create({ model: "target", messages, max_tokens: 120, temperature: 0, tools: [weather], tool_choice: "required", parallel_tool_calls: false });
    assert.equal(called.choices[0]!.finish_reason, "tool_calls");
    assertCall(called.choices[0]!.message.tool_calls![0]! as Parameters<typeof assertCall>[0], ["get_weather"]);
  });
});
