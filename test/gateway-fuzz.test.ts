/**
 * Schema-driven fuzzing: for every operation in openapi.yaml, random and boundary requests
 * generated from its own schemas (test/openapi-arbitrary.ts) go to a real gateway; none may get
 * a 5xx or crash it, and every answer must validate against openapi.yaml (JSON bodies against
 * the documented status's schema, streams event by event). Bounded in runs and in time;
 * fast-check prints the seed and the shrunk counterexample of a failure.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { adaptersDir, writeRandomAdapter } from "./adapter-fixtures.ts";
import { startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { SchemaArbitraries, type Schema } from "./openapi-arbitrary.ts";
import { conforms, matchesSchema, openapi } from "./openapi-validator.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 20_000);

interface Operation {
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
}

const document = openapi as unknown as { paths: Record<string, Record<string, Operation>> };
const arbitraries = new SchemaArbitraries(openapi as unknown as Record<string, unknown>);
const dir = adaptersDir();
writeRandomAdapter(dir, "a.gguf", 41);

let gateway: TestGateway;
const logLines: string[] = [];
before(async () => {
  gateway = await startTestGateway({ ADAPTERS_DIR: dir, MAX_TOKENS_BUDGET: "64", REQUEST_TIMEOUT_MS: "20000", LOG_LEVEL: "error" }, { logLines });
});
after(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Mostly the served model and the adapter file that exists, so requests get past the lookups to the deeper checks. */
function steer(body: unknown, pick: number): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const copy = { ...(body as Record<string, unknown>) };
  if ("model" in copy && pick % 4 !== 0) copy.model = "target";
  if ("lora_path" in copy && pick % 2 === 0) copy.lora_path = "a.gguf";
  return copy;
}

/** The documented schema for a response status and media type, or undefined. */
function declared(path: string, method: string, status: number): { $ref?: string; content?: Record<string, unknown> } | undefined {
  const response = document.paths[path]?.[method]?.responses[String(status)];
  return response?.$ref !== undefined ? (arbitraries.resolve(response.$ref) as { content?: Record<string, unknown> }) : response;
}

async function check(path: string, method: string, response: Response, label: string): Promise<void> {
  if (response.status >= 500) assert.fail(`${label}: ${response.status} ${await response.text()}`);
  const type = response.headers.get("content-type") ?? "";
  if (type.startsWith("text/event-stream")) {
    const events = (await response.text()).trimEnd().split("\n\n");
    assert.equal(events.at(-1), "data: [DONE]", label);
    const chunk = path === "/v1/chat/completions" ? "ChatCompletionChunk" : "CompletionChunk";
    for (const event of events.slice(0, -1)) {
      const payload = JSON.parse(event.slice("data: ".length)) as unknown;
      assert.ok(matchesSchema(chunk, payload).valid || matchesSchema("Error", payload).valid, `${label}: ${event}: ${matchesSchema(chunk, payload).errors}`);
    }
    return;
  }
  if (type.startsWith("application/json")) {
    await conforms(path, method, response, response.status);
    return;
  }
  const documented = declared(path, method, response.status);
  assert.ok(documented !== undefined, `${label}: ${response.status} is not documented`);
  assert.ok(Object.keys(documented.content ?? {}).some((media) => type.startsWith(media)), `${label}: ${type} is not documented for ${response.status}`);
  await response.arrayBuffer();
}

const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ path, method, operation })));

describe("schema-driven fuzzing (openapi.yaml)", () => {
  for (const { path, method, operation } of operations) {
    it(`${method.toUpperCase()} ${path}: no 5xx, answers match openapi.yaml`, async () => {
      const schema = operation.requestBody?.content["application/json"]?.schema;
      const query = fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 }), { nil: undefined });
      const segment = fc.oneof(fc.constant("target"), fc.constant("a"), fc.constant("docs.js"), fc.constant("swagger-ui.css"), fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }));
      const body = schema === undefined
        ? fc.constant(undefined)
        : fc.oneof(
          { arbitrary: arbitraries.valid(schema), weight: 4 },
          { arbitrary: arbitraries.boundary(schema), weight: 2 },
          { arbitrary: arbitraries.mutated(schema), weight: 2 },
          { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
        );
      await fc.assert(
        fc.asyncProperty(body, query, segment, fc.nat(), async (value, params, id, pick) => {
          const target = path.replace("{model}", encodeURIComponent(id)).replace("{name}", encodeURIComponent(id)) + (params === undefined ? "" : `?${new URLSearchParams(params)}`);
          const init: RequestInit = method === "get" ? {} : { method: method.toUpperCase(), headers: { "content-type": "application/json" }, body: JSON.stringify(steer(value, pick)) ?? "null" };
          const response = await fetch(`${gateway.url}${target}`, init);
          await check(path, method, response, `${method.toUpperCase()} ${target} ${String(init.body ?? "").slice(0, 300)}`);
        }),
        { numRuns: path.includes("completions") ? 2 * RUNS : RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false, includeErrorInReport: true },
      );
    });
  }

  it("left the gateway healthy, with no unhandled error logged", async () => {
    assert.equal((await fetch(`${gateway.url}/health`)).status, 200);
    assert.deepEqual(logLines.filter((line) => line.includes("unhandled error")), []);
  });
});
