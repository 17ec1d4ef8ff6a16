import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";

interface OpenApiResponse {
  $ref?: string;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, OpenApiResponse> }>>;
}

export const openapi = parse(readFileSync("openapi.yaml", "utf8")) as OpenApiDocument;
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema(openapi, "openapi");

const pointer = (...parts: string[]) => parts.map((part) => part.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

/**
 * Checks that a real JSON response has the status the caller expects and the body openapi.yaml
 * declares for its path, method and that status; returns the body.
 */
export async function conforms(path: string, method: string, response: Response, expectedStatus = 200): Promise<unknown> {
  assert.equal(response.status, expectedStatus, `${method.toUpperCase()} ${path}: status ${response.status}, expected ${expectedStatus}`);
  const declared = openapi.paths[path]?.[method]?.responses[String(response.status)];
  assert.ok(declared, `${method.toUpperCase()} ${path} ${response.status} is not documented`);
  const base = declared.$ref !== undefined ? declared.$ref.slice(2) : pointer("paths", path, method, "responses", String(response.status));
  const body: unknown = await response.json();
  const validate = ajv.getSchema(`openapi#/${base}/content/application~1json/schema`);
  assert.ok(validate, `no JSON schema for ${method} ${path} ${response.status}`);
  assert.ok(validate(body), `${method.toUpperCase()} ${path} ${response.status}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
  return body;
}

/** Whether a value is valid against one of the document's component schemas. */
export function matchesSchema(schema: string, value: unknown): { valid: boolean; errors: string } {
  const validate = ajv.getSchema(`openapi#/components/schemas/${schema}`);
  assert.ok(validate, `no schema ${schema}`);
  const valid = validate(value) as boolean;
  return { valid, errors: ajv.errorsText(validate.errors) };
}

/** An error response: documented for its path (when the path is documented) and in the Error shape. */
export async function conformsAsError(response: Response): Promise<{ error: { message: string; type: string; param: string | null; code: string | null } }> {
  const path = new URL(response.url).pathname;
  const operations = openapi.paths[path];
  if (operations !== undefined) {
    const documented = Object.values(operations).some((operation) => operation.responses[String(response.status)] !== undefined);
    assert.ok(documented, `${path} ${response.status} is not documented`);
  }
  const body = (await response.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
  conformsTo("Error", body);
  return body;
}

export function conformsTo(schema: string, value: unknown): void {
  const { valid, errors } = matchesSchema(schema, value);
  assert.ok(valid, `${schema}: ${errors}\n${JSON.stringify(value)}`);
}
