/**
 * `VUS` (4) clients back to back for `DURATION` (1m) on constrained chat completions, sampled
 * (temperature 1), rotating four kinds (tag `kind`; each must run): `json_schema`
 * (response_format), `required` (tool_choice "required" over two tools), `named` (tool_choice
 * naming one) and `stream` (a named call streamed as OpenAI's deltas, reassembled here). Every
 * answer must be complete and valid: the content, or the call's arguments, parse as JSON
 * matching the schema. One call per turn (`parallel_tool_calls: false`): parallel calls would
 * let the small model call until `max_tokens` cuts the last. `STRUCTURED_MAX_TOKENS` (160)
 * leaves room for a whole answer.
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/structured.ts
 */
import { check } from "k6";
import http from "k6/http";
import type { Options } from "k6/options";
import { baseUrl, explain, headers, model } from "./config.ts";
import { jsonProblem, type Schema } from "./schema-check.ts";

const maxTokens = Number(__ENV.STRUCTURED_MAX_TOKENS ?? 160);

/** Each client starts on another kind (__VU counts from 1), so even a short run has them all. */
const kinds = ["json_schema", "required", "named", "stream"] as const;

export const options: Options = {
  scenarios: {
    constrained: { executor: "constant-vus", vus: Number(__ENV.VUS ?? 4), duration: __ENV.DURATION ?? "1m" },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
    ...Object.fromEntries(kinds.map((kind) => [`http_reqs{kind:${kind}}`, ["count>0"]])),
  },
};

const city: Schema = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 20 },
    population: { type: "integer" },
    capital: { type: "boolean" },
    continent: { type: "string", enum: ["Africa", "America", "Asia", "Europe", "Oceania"] },
  },
  required: ["name", "population", "capital", "continent"],
  additionalProperties: false,
};

/** Small tools: the demo model's context is 512 tokens, and the tools' definitions are part of the prompt. */
const tools: Record<string, Schema> = {
  get_weather: {
    type: "object",
    properties: { city: { type: "string", maxLength: 12 }, unit: { type: "string", enum: ["C", "F"] } },
    required: ["city", "unit"],
    additionalProperties: false,
  },
  get_time: { type: "object", properties: { utc: { type: "boolean" } }, required: ["utc"], additionalProperties: false },
};
const toolList = Object.entries(tools).map(([name, parameters]) => ({ type: "function", function: { name, parameters } }));

const questions = ["What is the weather in Oslo?", "What time is it in New York?", "Is it raining in Paris?", "Tell me about Lisbon."];

interface Call {
  id?: string;
  type?: string;
  function: { name?: string; arguments: string };
}

/** What is wrong with a turn's calls (undefined: one call to an allowed tool, its arguments JSON matching that tool's schema). */
function callsProblem(calls: Call[] | undefined, allowed: string[]): string | undefined {
  if (!Array.isArray(calls) || calls.length !== 1) return `${Array.isArray(calls) ? calls.length : "no"} calls`;
  const call = calls[0]!;
  if (typeof call.id !== "string" || call.id === "" || call.type !== "function") return `call id ${call.id}, type ${call.type}`;
  if (!allowed.includes(call.function.name ?? "")) return `call to ${call.function.name}, allowed ${allowed.join(", ")}`;
  const problem = jsonProblem(tools[call.function.name!]!, call.function.arguments);
  return problem === undefined ? undefined : `${call.function.name} arguments ${call.function.arguments}: ${problem}`;
}

/** A streamed chat's tool calls put back together from OpenAI's deltas, with the last finish_reason; undefined when an event is not JSON. */
function reassemble(body: string): { calls: Call[]; finish: string | null } | undefined {
  const calls: Call[] = [];
  let finish: string | null = null;
  for (const line of body.split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    let chunk: { choices: { delta: { tool_calls?: (Call & { index: number })[] }; finish_reason: string | null }[] };
    try {
      chunk = JSON.parse(line.slice(6));
    } catch {
      return undefined;
    }
    for (const choice of chunk.choices) {
      for (const delta of choice.delta.tool_calls ?? []) {
        const call = calls[delta.index];
        if (call === undefined) calls[delta.index] = { id: delta.id, type: delta.type, function: { name: delta.function.name, arguments: delta.function.arguments } };
        else call.function.arguments += delta.function.arguments;
      }
      if (choice.finish_reason !== null) finish = choice.finish_reason;
    }
  }
  return { calls, finish };
}

export default function (): void {
  const kind = kinds[(__VU + __ITER) % kinds.length]!;
  const named = kind === "named" || kind === "stream" ? (__VU % 2 === 0 ? "get_weather" : "get_time") : undefined;
  const question = questions[(__VU + __ITER) % questions.length]!;
  const body = {
    model,
    messages: [{ role: "user", content: kind === "json_schema" ? `${question} Answer with a city as JSON.` : question }],
    max_tokens: maxTokens,
    temperature: 1,
    ...(kind === "json_schema"
      ? { response_format: { type: "json_schema", json_schema: { name: "city", schema: city, strict: true } } }
      : { tools: toolList, tool_choice: named === undefined ? "required" : { type: "function", function: { name: named } }, parallel_tool_calls: false }),
    ...(kind === "stream" ? { stream: true } : {}),
  };
  const response = http.post(`${baseUrl}/v1/chat/completions`, JSON.stringify(body), { headers: headers(), tags: { kind } });
  const allowed = named === undefined ? Object.keys(tools) : [named];
  if (kind === "stream") {
    const text = String(response.body ?? "");
    const streamed = reassemble(text);
    const problem = streamed === undefined ? "an event that is not JSON" : streamed.finish !== "tool_calls" ? `finish_reason ${streamed.finish}` : callsProblem(streamed.calls, allowed);
    explain(kind, response, problem);
    check(response, {
      "200": (r) => r.status === 200,
      "stream ends with [DONE]": () => text.trimEnd().endsWith("data: [DONE]") && !text.includes('"error"'),
      "streamed call deltas reassemble into a valid call": () => problem === undefined,
    });
    return;
  }
  const choice = response.status === 200 ? (response.json("choices.0") as { message: { content: string | null; tool_calls?: Call[] }; finish_reason: string } | null) : null;
  if (kind === "json_schema") {
    const problem = choice == null ? "no choice" : choice.finish_reason !== "stop" ? `finish_reason ${choice.finish_reason}` : jsonProblem(city, choice.message.content);
    explain(kind, response, problem);
    check(response, {
      "200": (r) => r.status === 200,
      "content complete, JSON matching the schema": () => problem === undefined,
    });
    return;
  }
  const problem = choice == null ? "no choice" : choice.finish_reason !== "tool_calls" || choice.message.content !== null ? `finish_reason ${choice.finish_reason}, content ${JSON.stringify(choice.message.content)}` : callsProblem(choice.message.tool_calls, allowed);
  explain(kind, response, problem);
  check(response, {
    "200": (r) => r.status === 200,
    "one call to an allowed tool, arguments JSON matching its schema, content null": () => problem === undefined,
  });
}
