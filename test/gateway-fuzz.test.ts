/**
 * Schema-driven fuzzing: for every operation in openapi.yaml, random and boundary requests
 * generated from its own schemas (test/openapi-arbitrary.ts) go to a real gateway; none may get
 * a 5xx or crash it, and every answer must validate against openapi.yaml (JSON bodies against
 * the documented status's schema, streams event by event). Path parameters and body fields are
 * steered to names that exist (the model, an adapter file, an uploaded file, a queued job) often
 * enough to reach the checks past the lookups; multipart operations get multipart bodies.
 * Bounded in runs and in time; fast-check prints the seed and the shrunk counterexample of a failure.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { toFile } from "openai";
import { adaptersDir, writeRandomAdapter } from "./adapter-fixtures.ts";
import { modelPath, startTestGateway, type TestGateway } from "./gateway-harness.ts";
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
/** Statuses answered per operation ("POST /v1/files" -> statuses). */
const answered = new Map<string, Set<number>>();
/** Ids made in `before`, steered into paths and bodies. */
const existing = { files: [] as string[], jobs: [] as string[] };
const trainingLines = [{ prompt: "Name a colour:", completion: " red" }, { messages: [{ role: "user", content: "Hi" }, { role: "assistant", content: "Hello." }] }].map((row) => JSON.stringify(row)).join("\n") + "\n";
before(async () => {
  // WORKERS=0: fuzzed jobs stay queued instead of training.
  gateway = await startTestGateway({ ADAPTERS_DIR: dir, MAX_TOKENS_BUDGET: "64", REQUEST_TIMEOUT_MS: "20000", LOG_LEVEL: "error", WORKERS: "0", EMBEDDING_MODELS: `vectors=${modelPath("draft")}` }, { logLines });
  for (let i = 0; i < 2; i++) {
    const file = await gateway.client.files.create({ file: await toFile(Buffer.from(trainingLines), `train-${i}.jsonl`), purpose: "fine-tune" });
    existing.files.push(file.id);
  }
  existing.jobs.push((await gateway.client.fineTuning.jobs.create({ model: "target", training_file: existing.files[0]! })).id);
});
after(async () => {
  await gateway?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Mostly the served model and the adapter file that exists, so requests get past the lookups to the deeper checks. */
function steer(path: string, body: unknown, pick: number): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const copy = { ...(body as Record<string, unknown>) };
  if ("model" in copy && pick % 4 !== 0) copy.model = path.endsWith("/embeddings") ? "vectors" : path.endsWith("rerank") ? "bm25" : "target";
  if ("lora_path" in copy && pick % 2 === 0) copy.lora_path = "a.gguf";
  if ("lora_name" in copy && pick % 2 === 0) copy.lora_name = "a";
  if ("training_file" in copy && pick % 2 === 0) copy.training_file = existing.files[0];
  return copy;
}

/** A path with each {parameter} filled: mostly an id that exists for it, else the fuzzed segment. */
function fillPath(path: string, method: string, segment: string, pick: number): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    // Deletion gets a file of its own, so the other file operations keep finding theirs.
    const ids = name === "file_id" ? [existing.files[method === "delete" ? 1 : 0]!] : name === "fine_tuning_job_id" ? existing.jobs : name === "model" ? ["target"] : name === "name" ? ["docs.js", "swagger-ui.css"] : [];
    return encodeURIComponent(ids.length > 0 && pick % 3 !== 0 ? ids[pick % ids.length]! : segment);
  });
}

/** A multipart upload: mostly a valid purpose and JSONL, else fuzzed fields, a wrong file, or a field left out. */
const multipartBody = fc.record({
  purpose: fc.oneof({ arbitrary: fc.constant("fine-tune"), weight: 3 }, { arbitrary: fc.string({ maxLength: 12 }), weight: 1 }, { arbitrary: fc.constant(undefined), weight: 1 }),
  file: fc.oneof({ arbitrary: fc.constant(trainingLines), weight: 3 }, { arbitrary: fc.string({ maxLength: 200 }), weight: 2 }, { arbitrary: fc.jsonValue({ maxDepth: 2 }).map((value) => `${JSON.stringify(value)}\n`), weight: 2 }, { arbitrary: fc.constant(undefined), weight: 1 }),
  name: fc.oneof(fc.constant("train.jsonl"), fc.string({ minLength: 1, maxLength: 20 })),
}).map(({ purpose, file, name }) => {
  const form = new FormData();
  if (purpose !== undefined) form.append("purpose", purpose);
  if (file !== undefined) form.append("file", new Blob([file]), name);
  return form;
});

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
  if (type.split(";")[0]!.trim() === "application/json") {
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
      const multipart = operation.requestBody?.content["multipart/form-data"] !== undefined;
      const query = fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 3 }), { nil: undefined });
      const segment = fc.oneof(fc.constant("a"), fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }));
      const body: fc.Arbitrary<unknown> = multipart
        ? fc.oneof({ arbitrary: multipartBody, weight: 4 }, { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 })
        : schema === undefined
        ? fc.constant(undefined)
        : fc.oneof(
          { arbitrary: arbitraries.valid(schema), weight: 4 },
          { arbitrary: arbitraries.boundary(schema), weight: 2 },
          { arbitrary: arbitraries.mutated(schema), weight: 2 },
          { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
        );
      await fc.assert(
        fc.asyncProperty(body, query, segment, fc.nat(), async (value, params, id, pick) => {
          const target = fillPath(path, method, id, pick) + (params === undefined ? "" : `?${new URLSearchParams(params)}`);
          const init: RequestInit = method === "get" ? {} : value instanceof FormData
            ? { method: method.toUpperCase(), body: value }
            : { method: method.toUpperCase(), headers: { "content-type": "application/json" }, body: JSON.stringify(steer(path, value, pick)) ?? "null" };
          const response = await fetch(`${gateway.url}${target}`, init);
          const statuses = answered.get(`${method.toUpperCase()} ${path}`) ?? new Set<number>();
          answered.set(`${method.toUpperCase()} ${path}`, statuses.add(response.status));
          await check(path, method, response, `${method.toUpperCase()} ${target} ${String(init.body ?? "").slice(0, 300)}`);
        }),
        { numRuns: path.includes("completions") ? 2 * RUNS : RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false, includeErrorInReport: true },
      );
    });
  }

  it("reached every operation's success answer at least once (the steering works)", () => {
    const missed = operations.map(({ path, method }) => `${method.toUpperCase()} ${path}`).filter((name) => ![...answered.get(name) ?? []].some((status) => status >= 200 && status < 300));
    assert.deepEqual(missed, [], JSON.stringify(Object.fromEntries([...answered].map(([name, statuses]) => [name, [...statuses].sort()]))));
  });

  it("left the gateway healthy, with no unhandled error logged", async () => {
    assert.equal((await fetch(`${gateway.url}/health`)).status, 200);
    assert.deepEqual(logLines.filter((line) => line.includes("unhandled error")), []);
  });
});
