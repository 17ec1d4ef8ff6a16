import type { z } from "zod";
import { invalidRequest } from "../protocol/errors.ts";

/** Parses a body against a wire schema; the first problem becomes a 400 naming the parameter. */
export function validate<Schema extends z.ZodType>(schema: Schema, body: unknown): z.infer<Schema> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalidRequest("The request body must be a JSON object.");
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const param = paramName([...issue.path, key]);
    return raise(`Unrecognized request argument supplied: ${param}`, param);
  }
  const param = paramName(issue.path);
  return raise(`Invalid value for '${param}': ${issue.message}`, param);
}

function raise(message: string, param: string): never {
  throw invalidRequest(message, param);
}

/** OpenAI's spelling of a nested parameter: messages[0].content. */
function paramName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((name, part) => (typeof part === "number" ? `${name}[${part}]` : name === "" ? String(part) : `${name}.${String(part)}`), "");
}
