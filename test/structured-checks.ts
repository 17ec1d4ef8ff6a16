/** Checks shared by the structured-output and tools tests. */
import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";

export const ajv = new Ajv2020({ strict: false, allErrors: true });

/** `text` parses as JSON and validates against `schema`. */
export function assertValidJson(schema: object, text: string): void {
  const validate = ajv.compile(schema);
  assert.ok(validate(JSON.parse(text)), `${ajv.errorsText(validate.errors)}: ${text}`);
}

/** A 400 in OpenAI's shape naming `param`, its message matching. */
export async function expect400(response: Response, param: string, message: RegExp): Promise<void> {
  assert.equal(response.status, 400);
  const { error } = (await response.json()) as { error: { param: string; message: string; type: string } };
  assert.equal(error.type, "invalid_request_error");
  assert.equal(error.param, param);
  assert.match(error.message, message);
}
