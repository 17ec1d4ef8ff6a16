/**
 * A request's JSON Schema reduced to what node-llama-cpp compiles into a grammar (its
 * GbnfJsonSchema), or a 400 naming the first keyword it cannot enforce: an output that does not
 * validate against the schema it was asked for would be silent looseness.
 *
 * Supported: type (one or several), const, enum (of scalars), anyOf; objects with properties,
 * required, additionalProperties, minProperties, maxProperties; arrays with items, prefixItems,
 * minItems, maxItems; strings with minLength, maxLength, format date-time | date | time; $defs /
 * definitions with local $ref; annotations (title, description, default, examples, ...). Every
 * declared property is always generated, in the declared order (so `required` always holds),
 * and an object without additionalProperties gets none (tighter than JSON Schema, never looser).
 * Refused: oneOf (exactly-one cannot be enforced by a grammar), allOf, not, if/then/else,
 * pattern, numeric bounds, uniqueItems, contains, patternProperties, other formats, remote refs.
 */
import { invalidRequest } from "../protocol/errors.ts";

type Schema = Record<string, unknown>;

const annotations = new Set(["title", "description", "$schema", "$id", "$comment", "examples", "default", "deprecated", "readOnly", "writeOnly", "strict"]);
const scalarTypes = new Set(["string", "number", "integer", "boolean", "null"]);
const allTypes = new Set([...scalarTypes, "object", "array"]);
const formats = new Set(["date-time", "date", "time"]);

/** Keywords each kind of schema may carry beside `type` and the annotations. */
const keywordsOf: Record<string, Set<string>> = {
  object: new Set(["properties", "required", "additionalProperties", "minProperties", "maxProperties"]),
  array: new Set(["items", "prefixItems", "minItems", "maxItems"]),
  string: new Set(["minLength", "maxLength", "format"]),
  number: new Set(),
  integer: new Set(),
  boolean: new Set(),
  null: new Set(),
};

/** Any JSON value: node-llama-cpp has no schema for it, so it is spelled out. */
const anyValue = { oneOf: [{ type: ["string", "number", "boolean", "null"] }, { type: "object", additionalProperties: true }, { type: "array" }] };

/** The grammar-ready copy of `schema`; `param` is the request field that holds it. */
export function grammarSchema(schema: unknown, param: string): object {
  if (!isObject(schema)) throw invalidRequest("The JSON schema must be an object.", param);
  const defs = { ...asDefs(schema.definitions, `${param}.definitions`), ...asDefs(schema.$defs, `${param}.$defs`) };
  const converted = convert(schema, param, defs);
  const convertedDefs = Object.fromEntries(Object.entries(defs).map(([name, def]) => [name, convert(def, `${param}.$defs.${name}`, defs)]));
  return Object.keys(convertedDefs).length === 0 ? converted : { ...converted, $defs: convertedDefs };
}

function convert(schema: unknown, at: string, defs: Record<string, unknown>): Schema {
  if (schema === true) return anyValue;
  if (!isObject(schema)) throw invalidRequest(`The JSON schema at ${at} must be an object or true.`, at);
  const own = Object.fromEntries(Object.entries(schema).filter(([key]) => !annotations.has(key) && key !== "$defs" && key !== "definitions"));
  const description = typeof schema.description === "string" ? { description: schema.description } : {};
  if ("$ref" in own) return ref(own, at, defs);
  if ("anyOf" in own) return alternatives(own, at, defs);
  for (const refused of ["oneOf", "allOf", "not", "if", "then", "else"]) {
    if (refused in own) throw unsupported(refused, at, refused === "oneOf" ? "use anyOf: a grammar cannot enforce that exactly one alternative matches" : undefined);
  }
  if ("const" in own) {
    only(own, ["const", "type"], at);
    return { const: scalar(own.const, `${at}.const`), ...description };
  }
  if ("enum" in own) {
    only(own, ["enum", "type"], at);
    if (!Array.isArray(own.enum) || own.enum.length === 0) throw invalidRequest(`enum at ${at} must be a non-empty array.`, `${at}.enum`);
    return { enum: own.enum.map((value, i) => scalar(value, `${at}.enum[${i}]`)), ...description };
  }
  if (!("type" in own)) {
    const stray = Object.keys(own)[0];
    if (stray !== undefined) throw unsupported(stray, at, "a schema with keywords needs a type");
    return anyValue;
  }
  const types = Array.isArray(own.type) ? own.type : [own.type];
  for (const type of types) if (typeof type !== "string" || !allTypes.has(type)) throw invalidRequest(`Unknown type ${JSON.stringify(type)} at ${at}.`, `${at}.type`);
  if (types.length === 0) throw invalidRequest(`type at ${at} lists no type.`, `${at}.type`);
  if (types.length > 1) {
    if (types.every((type) => scalarTypes.has(type as string)) && Object.keys(own).length === 1) return { type: types, ...description };
    return { oneOf: types.map((type) => convert({ ...own, type }, at, defs)), ...description };
  }
  const type = types[0] as string;
  for (const key of Object.keys(own)) {
    if (key !== "type" && !keywordsOf[type]!.has(key)) throw unsupported(key, at);
  }
  if (type === "object") return object(own, at, defs, description);
  if (type === "array") return array(own, at, defs, description);
  if (type === "string") return string(own, at, description);
  return { type, ...description };
}

function object(schema: Schema, at: string, defs: Record<string, unknown>, description: object): Schema {
  const properties = schema.properties ?? {};
  if (!isObject(properties)) throw invalidRequest(`properties at ${at} must be an object.`, `${at}.properties`);
  const required = schema.required ?? [];
  if (!Array.isArray(required) || !required.every((name) => typeof name === "string")) throw invalidRequest(`required at ${at} must be an array of names.`, `${at}.required`);
  const extra = schema.additionalProperties;
  const missing = required.find((name) => !(name in properties));
  if (missing !== undefined && (extra === undefined || extra === false)) {
    throw invalidRequest(`required at ${at} names "${missing}", which is not among its properties.`, `${at}.required`);
  }
  return {
    type: "object",
    properties: Object.fromEntries(Object.entries(properties).map(([name, value]) => [name, convert(value, `${at}.properties.${name}`, defs)])),
    ...(extra === undefined || extra === false ? {} : { additionalProperties: extra === true ? true : convert(extra, `${at}.additionalProperties`, defs) }),
    ...count(schema, "minProperties", at),
    ...count(schema, "maxProperties", at),
    ...description,
  };
}

function array(schema: Schema, at: string, defs: Record<string, unknown>, description: object): Schema {
  if (Array.isArray(schema.items)) throw unsupported("items", at, "a list of item schemas is draft-4 tuple form: use prefixItems");
  const prefix = schema.prefixItems;
  if (prefix !== undefined && !Array.isArray(prefix)) throw invalidRequest(`prefixItems at ${at} must be an array.`, `${at}.prefixItems`);
  return {
    type: "array",
    ...(schema.items === undefined ? {} : { items: convert(schema.items, `${at}.items`, defs) }),
    ...(prefix === undefined ? {} : { prefixItems: prefix.map((item, i) => convert(item, `${at}.prefixItems[${i}]`, defs)) }),
    ...count(schema, "minItems", at),
    ...count(schema, "maxItems", at),
    ...description,
  };
}

function string(schema: Schema, at: string, description: object): Schema {
  if (schema.format !== undefined) {
    if (typeof schema.format !== "string" || !formats.has(schema.format)) throw unsupported("format", at, `only ${[...formats].join(", ")} are enforced`);
    if ("minLength" in schema || "maxLength" in schema) throw unsupported("minLength", at, "not together with format");
    return { type: "string", format: schema.format, ...description };
  }
  return { type: "string", ...count(schema, "minLength", at), ...count(schema, "maxLength", at), ...description };
}

function alternatives(schema: Schema, at: string, defs: Record<string, unknown>): Schema {
  only(schema, ["anyOf"], at);
  if (!Array.isArray(schema.anyOf) || schema.anyOf.length === 0) throw invalidRequest(`anyOf at ${at} must be a non-empty array.`, `${at}.anyOf`);
  return { oneOf: schema.anyOf.map((item, i) => convert(item, `${at}.anyOf[${i}]`, defs)) };
}

function ref(schema: Schema, at: string, defs: Record<string, unknown>): Schema {
  only(schema, ["$ref"], at);
  const target = schema.$ref;
  const match = typeof target === "string" ? /^#\/(?:\$defs|definitions)\/([^/]+)$/.exec(target) : null;
  if (match === null) throw unsupported("$ref", at, "only local references to #/$defs/<name> or #/definitions/<name> are followed");
  if (!(match[1]! in defs)) throw invalidRequest(`$ref at ${at} points to "${match[1]}", which is not defined.`, `${at}.$ref`);
  return { $ref: `#/$defs/${match[1]}` };
}

function asDefs(value: unknown, at: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalidRequest(`${at} must be an object of schemas.`, at);
  return value;
}

function count(schema: Schema, key: string, at: string): Schema {
  const value = schema[key];
  if (value === undefined) return {};
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) throw invalidRequest(`${key} at ${at} must be a non-negative integer.`, `${at}.${key}`);
  return { [key]: value };
}

function scalar(value: unknown, at: string): string | number | boolean | null {
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return value as string | number | boolean | null;
  throw unsupported(at.slice(at.lastIndexOf(".") + 1), at, "only string, number, boolean and null values are enforced");
}

function only(schema: Schema, allowed: string[], at: string): void {
  const stray = Object.keys(schema).find((key) => !allowed.includes(key));
  if (stray !== undefined) throw unsupported(stray, at, `not beside ${allowed.join(", ")}`);
}

function unsupported(keyword: string, at: string, why?: string): Error {
  return invalidRequest(`The JSON schema keyword "${keyword}" at ${at} is not supported by grammar-constrained decoding${why === undefined ? "" : ` (${why})`}.`, at, "unsupported_schema_keyword");
}

function isObject(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
