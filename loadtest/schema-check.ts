/**
 * The JSON Schema keywords the load tests' schemas use, checked as the gateway promises to
 * enforce them (docs/structured-output.md): every declared property present, no others when
 * `additionalProperties` is false. k6 has no JSON Schema validator, and these few keywords are
 * all a check needs.
 */
export interface Schema {
  type: "object" | "string" | "integer" | "number" | "boolean";
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
  enum?: (string | number | boolean)[];
  minLength?: number;
  maxLength?: number;
}

/** The first way `value` breaks `schema` (its JSON path and what is wrong), undefined when it matches. */
export function schemaProblem(schema: Schema, value: unknown, path = "$"): string | undefined {
  if (schema.enum !== undefined && !schema.enum.includes(value as string)) return `${path}: ${JSON.stringify(value)} is not in the enum`;
  switch (schema.type) {
    case "string":
      if (typeof value !== "string") return `${path}: not a string`;
      if (value.length < (schema.minLength ?? 0) || value.length > (schema.maxLength ?? Infinity)) return `${path}: length ${value.length} out of bounds`;
      return undefined;
    case "integer":
      return Number.isInteger(value) ? undefined : `${path}: not an integer`;
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? undefined : `${path}: not a number`;
    case "boolean":
      return typeof value === "boolean" ? undefined : `${path}: not a boolean`;
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return `${path}: not an object`;
      const record = value as Record<string, unknown>;
      const properties = schema.properties ?? {};
      for (const name of schema.required ?? []) if (!(name in record)) return `${path}.${name}: missing`;
      for (const name of Object.keys(record)) {
        const property = properties[name];
        if (property === undefined) {
          if (schema.additionalProperties === false) return `${path}.${name}: not allowed`;
          continue;
        }
        const problem = schemaProblem(property, record[name], `${path}.${name}`);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
  }
}

/** `text` parsed as JSON and checked against `schema`: undefined when both hold, else what failed. */
export function jsonProblem(schema: Schema, text: unknown): string | undefined {
  if (typeof text !== "string") return "not a string";
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 80)}`;
  }
  return schemaProblem(schema, value);
}
