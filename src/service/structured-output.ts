/**
 * What constrains a request's output, as a grammar compiled for the model: `response_format`
 * (json_object: any JSON object; json_schema: that schema) or the `grammar` extension (GBNF).
 * Tool calls add their own grammar (service/tool-calls.ts).
 */
import type { Grammar } from "../engine/grammar.ts";
import type { ServedModel } from "../engine/served-model.ts";
import type { ResponseFormat } from "../protocol/structured.ts";
import { invalidRequest } from "../protocol/errors.ts";
import { grammarSchema } from "./json-schema-subset.ts";

/** Any JSON object (response_format json_object). */
export const anyObject = { type: "object", additionalProperties: true };

export interface StructuredRequest {
  grammar?: string | null;
  response_format?: ResponseFormat | null;
}

/** The grammar a request asks for, or undefined when its output is free text. */
export async function requestGrammar(model: ServedModel, request: StructuredRequest): Promise<Grammar | undefined> {
  const format = request.response_format;
  const json = format != null && format.type !== "text";
  if (request.grammar != null && json) throw invalidRequest("grammar and a JSON response_format both constrain the output; send one of them.", "grammar");
  if (request.grammar != null) return model.grammars.get({ gbnf: request.grammar }, "grammar");
  if (format == null || format.type === "text") return undefined;
  if (format.type === "json_object" || format.json_schema.schema == null) return model.grammars.get({ jsonSchema: anyObject }, "response_format");
  const param = "response_format.json_schema.schema";
  return model.grammars.get({ jsonSchema: grammarSchema(format.json_schema.schema, param) }, param);
}
