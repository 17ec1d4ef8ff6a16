/**
 * fast-check arbitraries from openapi.yaml's JSON Schemas: values the schema allows, its
 * boundaries (and one step past them), and, through `mutated`, bodies with one field broken.
 * Covers the schema keywords openapi.yaml uses; sizes stay small so each case runs in
 * milliseconds (strings up to 24 characters, arrays up to 4 items).
 */
import fc from "fast-check";

export type Schema = Record<string, unknown>;

const maxString = 24;
const maxItems = 4;

export class SchemaArbitraries {
  constructor(private readonly document: Record<string, unknown>) {}

  /** The schema at a `#/...` pointer. */
  resolve(ref: string): Schema {
    return ref
      .slice(2)
      .split("/")
      .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"))
      .reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], this.document) as Schema;
  }

  /** Values `schema` allows, a few optional fields at a time. */
  valid(schema: Schema): fc.Arbitrary<unknown> {
    return this.of(schema, 0, false);
  }

  /** Values of `schema` with its boundaries and the values just past them, any optional fields. */
  boundary(schema: Schema): fc.Arbitrary<unknown> {
    return this.of(schema, 0, true);
  }

  private of(schema: Schema, depth: number, edges: boolean): fc.Arbitrary<unknown> {
    if (typeof schema.$ref === "string") return this.of(this.resolve(schema.$ref), depth, edges);
    if (Array.isArray(schema.allOf)) return this.of(this.mergeAll(schema.allOf as Schema[]), depth, edges);
    const choices = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
    if (choices !== undefined) return fc.oneof(...choices.map((choice) => this.of(choice, depth + 1, edges)));
    if (schema.const !== undefined) return fc.constant(schema.const);
    if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : typeof schema.type === "string" ? [schema.type] : ["object"];
    return fc.oneof(...types.map((type) => this.ofType(type, schema, depth, edges)));
  }

  /** A valid-looking body with one thing wrong: a field of any JSON value, a required field missing, or an unknown field. */
  mutated(schema: Schema): fc.Arbitrary<unknown> {
    const flat = this.flatten(schema);
    const keys = Object.keys((flat.properties ?? {}) as object);
    return fc.tuple(this.valid(schema), fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 2 }), fc.nat(2)).map(([body, key, value, how]) => {
      const copy = { ...(body as Record<string, unknown>) };
      if (how === 0) copy[key] = value;
      else if (how === 1) delete copy[key];
      else copy[`x_${key}`] = value;
      return copy;
    });
  }

  private ofType(type: string, schema: Schema, depth: number, edges: boolean): fc.Arbitrary<unknown> {
    switch (type) {
      case "null":
        return fc.constant(null);
      case "boolean":
        return fc.boolean();
      case "integer":
        return integers(schema, edges);
      case "number":
        return numbers(schema, edges);
      case "string":
        return strings(schema, edges);
      case "array": {
        const items = (schema.items ?? {}) as Schema;
        const minLength = (schema.minItems as number | undefined) ?? 0;
        const maxLength = Math.max(minLength, Math.min((schema.maxItems as number | undefined) ?? maxItems, maxItems));
        const valid = fc.array(this.of(items, depth + 1, edges), { minLength, maxLength });
        if (!edges) return valid;
        // One past the bounds: too few, too many.
        const past = fc.array(this.of(items, depth + 1, edges), { minLength: Math.max(0, minLength - 1), maxLength: maxLength + 1 });
        return fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: past, weight: 1 });
      }
      default:
        return this.object(schema, depth, edges);
    }
  }

  private object(schema: Schema, depth: number, edges: boolean): fc.Arbitrary<unknown> {
    const flat = this.flatten(schema);
    const properties = (flat.properties ?? {}) as Record<string, Schema>;
    const required = (flat.required ?? []) as string[];
    const extra = flat.additionalProperties;
    if (Object.keys(properties).length === 0 && typeof extra === "object" && extra !== null) {
      const key = fc.oneof(fc.string({ maxLength: 6 }), fc.nat(4096).map(String));
      return fc.dictionary(key, this.of(extra as Schema, depth + 1, edges), { maxKeys: 3 });
    }
    if (depth > 4) return fc.constant(Object.fromEntries(required.map((key) => [key, null])));
    const field = (key: string): fc.Arbitrary<unknown> => this.of(properties[key]!, depth + 1, edges);
    const pick = (keys: string[]): fc.Arbitrary<unknown> => fc.record(Object.fromEntries(keys.map((key) => [key, field(key)])));
    const mandatory = required.filter((key) => key in properties);
    const optional = Object.keys(properties).filter((key) => !mandatory.includes(key));
    // Valid bodies carry a few optional fields, so most reach the handler instead of the first refusal.
    if (!edges) return fc.subarray(optional, { maxLength: Math.min(3, optional.length) }).chain((keys) => pick([...mandatory, ...keys]));
    return fc.record(Object.fromEntries(Object.keys(properties).map((key) => [key, field(key)])), { requiredKeys: mandatory });
  }

  /** allOf members merged into one object schema (properties and required lists united). */
  private mergeAll(parts: Schema[]): Schema {
    return parts.map((part) => this.flatten(part)).reduce<Schema>((merged, part) => ({
      ...merged,
      ...part,
      properties: { ...((merged.properties ?? {}) as object), ...((part.properties ?? {}) as object) },
      required: [...((merged.required ?? []) as string[]), ...((part.required ?? []) as string[])],
    }), {});
  }

  private flatten(schema: Schema): Schema {
    if (typeof schema.$ref === "string") return this.flatten(this.resolve(schema.$ref));
    if (Array.isArray(schema.allOf)) return this.mergeAll(schema.allOf as Schema[]);
    return schema;
  }
}

function integers(schema: Schema, edges: boolean): fc.Arbitrary<number> {
  const min = (schema.minimum as number | undefined) ?? -(2 ** 31);
  const max = (schema.maximum as number | undefined) ?? 2 ** 31;
  const low = Math.max(min, Math.min(max, 0));
  const small = fc.integer({ min: low, max: Math.min(max, low + 16) });
  if (!edges) return small;
  const boundaries = [min, min - 1, max, max + 1, 2 ** 31, 2 ** 53 - 1, -1, 0].filter((value) => Number.isSafeInteger(value));
  // Small values in range keep generation short; boundaries and one past them the rest.
  return fc.oneof({ arbitrary: fc.integer({ min: low, max: Math.min(max, low + 16) }), weight: 3 }, { arbitrary: fc.constantFrom(...boundaries), weight: 1 });
}

function numbers(schema: Schema, edges: boolean): fc.Arbitrary<number> {
  const min = (schema.minimum as number | undefined) ?? (schema.exclusiveMinimum as number | undefined) ?? -1e6;
  const max = (schema.maximum as number | undefined) ?? (schema.exclusiveMaximum as number | undefined) ?? 1e6;
  const exclusive = schema.exclusiveMinimum !== undefined;
  if (!edges) return fc.double({ min, max, noNaN: true, minExcluded: exclusive, maxExcluded: schema.exclusiveMaximum !== undefined });
  const boundaries = [min, max, min - 1e-9, max + 1e-9, 0, -0, 1e308, -1e308];
  return fc.oneof({ arbitrary: fc.double({ min, max, noNaN: true }), weight: 3 }, { arbitrary: fc.constantFrom(...boundaries), weight: 1 });
}

function strings(schema: Schema, edges: boolean): fc.Arbitrary<string> {
  if (typeof schema.pattern === "string") {
    if (!edges) return fc.stringMatching(new RegExp(schema.pattern)).filter((text) => text.length <= 64);
    return fc.oneof({ arbitrary: fc.stringMatching(new RegExp(schema.pattern)).map((text) => text.slice(0, 64)), weight: 3 }, { arbitrary: fc.string({ maxLength: maxString }), weight: 1 });
  }
  const minLength = (schema.minLength as number | undefined) ?? 0;
  const maxLength = Math.max(minLength, Math.min((schema.maxLength as number | undefined) ?? maxString, maxString));
  if (!edges) return fc.string({ minLength, maxLength, unit: "grapheme" });
  return fc.oneof(
    { arbitrary: fc.string({ minLength, maxLength, unit: "grapheme" }), weight: 3 },
    { arbitrary: fc.constantFrom("", " ", "\u0000", "\ud800", "<|endoftext|>", "../../etc/passwd", "%00"), weight: 1 },
  );
}
