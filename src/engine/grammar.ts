/**
 * Grammars a request constrains its output with: GBNF text (the `grammar` extension) or a JSON
 * schema already reduced to the subset node-llama-cpp compiles (service/json-schema-subset.ts).
 * Compiled once per distinct source and model (a small cache), started once per choice.
 */
import type { LlamaGrammar, LlamaModel } from "node-llama-cpp";
import { invalidRequest } from "../protocol/errors.ts";
import { GrammarState } from "./native/grammar-state.ts";
import type { ToolCallSyntax } from "./tool-format.ts";
import { toolCallsGbnf } from "./tool-grammar.ts";

export type GrammarSource = { readonly gbnf: string } | { readonly jsonSchema: object } | { readonly toolCalls: ToolCallsSource };

/** Tool calls only: `tools`' names and argument schemas (reduced like jsonSchema) in `syntax`. */
export interface ToolCallsSource {
  readonly syntax: ToolCallSyntax;
  readonly tools: readonly { readonly name: string; readonly schema: object }[];
  readonly parallel: boolean;
}

/** A compiled grammar for one model. */
export class Grammar {
  constructor(
    private readonly model: LlamaModel,
    private readonly compiled: LlamaGrammar,
  ) {}

  /** A fresh evaluation state for one choice. */
  start(): GrammarState {
    return GrammarState.start(this.model, this.compiled);
  }
}

/**
 * node-llama-cpp's JSON schema grammars end with four required newlines (`"\n\n\n\n" [\n]*`),
 * its chat session's cue to stop and trim. Here the JSON's own end ends the grammar, so the end
 * of generation is allowed right after the closing brace and nothing follows it.
 */
const jsonSchemaSuffix = ' "\\n\\n\\n\\n" [\\n]*';

/**
 * node-llama-cpp's number rules take an exponent of up to 16 digits, even for "integer": 5e-1
 * (not a whole number) and 1e9999999999999999 (Infinity once parsed, which validators refuse)
 * were both in the language. Integers get no exponent and numbers at most two exponent digits,
 * so every value is a finite double and every integer a whole number: stricter, never looser.
 */
const exponent = ' ([eE] [-+]? ("0" | [1-9] [0-9]{0,15}))?';
const numberRules = [
  { name: "integer-number-rule", exponent: "" },
  { name: "fractional-number-rule", exponent: " ([eE] [-+]? [0-9]{1,2})?" },
];

function boundNumbers(gbnf: string): string {
  return gbnf
    .split("\n")
    .map((line) => {
      const rule = numberRules.find(({ name }) => line.startsWith(`${name} ::= `));
      if (rule === undefined) return line;
      if (!line.endsWith(exponent)) throw new Error(`node-llama-cpp's ${rule.name} no longer ends with its exponent`);
      return line.slice(0, -exponent.length) + rule.exponent;
    })
    .join("\n");
}

/** The GBNF node-llama-cpp generates for a JSON schema, without its trailing newlines, its numbers bounded. */
export async function jsonSchemaGbnf(model: LlamaModel, schema: object): Promise<string> {
  const generated = (await model.llama.createGrammarForJsonSchema(schema as never)).grammar;
  const rootEnd = generated.indexOf("\n");
  const root = generated.slice(0, rootEnd);
  if (!root.endsWith(jsonSchemaSuffix)) throw new Error("node-llama-cpp's JSON schema grammar no longer ends with its four newlines");
  return boundNumbers(root.slice(0, -jsonSchemaSuffix.length) + generated.slice(rootEnd));
}

const cacheSize = 32;

/** Compiled grammars of one model, the most recently used kept. */
export class GrammarCache {
  private readonly entries = new Map<string, Promise<Grammar>>();

  constructor(private readonly model: LlamaModel) {}

  /** Compiles (or reuses) a grammar; a source that does not compile is a 400 naming `param`. */
  async get(source: GrammarSource, param: string): Promise<Grammar> {
    const key = JSON.stringify(source);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = this.compile(source, param);
      this.entries.set(key, entry);
      entry.catch(() => this.entries.delete(key));
      if (this.entries.size > cacheSize) this.entries.delete(this.entries.keys().next().value!);
    } else {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  private async compile(source: GrammarSource, param: string): Promise<Grammar> {
    const fromSchema = (schema: object): Promise<string> => jsonSchemaGbnf(this.model, schema).catch((error: unknown) => {
      throw invalidRequest(`The JSON schema could not be turned into a grammar: ${(error as Error).message}`, param);
    });
    let gbnf: string;
    if ("gbnf" in source) gbnf = source.gbnf;
    else if ("jsonSchema" in source) gbnf = await fromSchema(source.jsonSchema);
    else {
      const { syntax, tools, parallel } = source.toolCalls;
      gbnf = toolCallsGbnf(syntax, await Promise.all(tools.map(async (tool) => ({ name: tool.name, arguments: await fromSchema(tool.schema) }))), parallel);
    }
    try {
      return new Grammar(this.model, await this.model.llama.createGrammar({ grammar: gbnf }));
    } catch {
      // llama.cpp logs the parse error's position; node-llama-cpp throws only that it failed.
      throw invalidRequest("The grammar does not compile as GBNF (see llama.cpp's grammar syntax: rules `name ::= ...`, a `root` rule, quoted literals, [character classes]).", param);
    }
  }
}
