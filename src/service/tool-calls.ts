/**
 * Tools on chat completions: which tools the model sees, whether its turn must be calls
 * (tool_choice "required" or a named function: a grammar of calls, grammar.ts), and reading the
 * calls out of its text, as a whole or as it streams (OpenAI's delta shape: id, type and name
 * once, then argument fragments).
 */
import { randomBytes } from "node:crypto";
import type { Grammar } from "../engine/grammar.ts";
import type { ServedModel } from "../engine/served-model.ts";
import type { ToolCallSyntax, ToolDefinition } from "../engine/tool-format.ts";
import { invalidRequest } from "../protocol/errors.ts";
import type { Tool, ToolCall, ToolCallDelta, ToolChoice } from "../protocol/tools.ts";
import { grammarSchema } from "./json-schema-subset.ts";

export interface ToolsRequest {
  tools?: Tool[] | null;
  tool_choice?: ToolChoice | null;
  parallel_tool_calls?: boolean | null;
}

export interface PreparedTools {
  /** What the model is shown (empty: no tools). */
  definitions: ToolDefinition[];
  /** Whether the model's text is read for calls ("none" shows the tools but reads no calls). */
  readsCalls: boolean;
  /** The grammar of calls, when the turn must be calls. */
  grammar: Grammar | undefined;
  syntax: ToolCallSyntax;
}

/** A function without parameters takes none. */
const noParameters = { type: "object", properties: {} };

/** Validates tools and tool_choice (400s name the field) and compiles the call grammar when calls are required. */
export async function prepareTools(model: ServedModel, request: ToolsRequest): Promise<PreparedTools> {
  const tools = request.tools ?? [];
  const choice = request.tool_choice ?? (tools.length > 0 ? "auto" : "none");
  const syntax = model.chatRenderer.toolSyntax;
  if (tools.length === 0) {
    if (choice !== "none") throw invalidRequest("tool_choice needs tools.", "tool_choice");
    return { definitions: [], readsCalls: false, grammar: undefined, syntax };
  }
  const names = new Set<string>();
  const checked = tools.map((tool, i) => {
    const { name, description, parameters } = tool.function;
    if (names.has(name)) throw invalidRequest(`Two tools are named "${name}".`, `tools[${i}].function.name`);
    names.add(name);
    const schema = grammarSchema(parameters ?? noParameters, `tools[${i}].function.parameters`);
    const definition: ToolDefinition = { name, ...(description == null ? {} : { description }), parameters: parameters ?? noParameters };
    return { definition, schema };
  });
  const definitions = checked.map(({ definition }) => definition);
  if (choice === "none" || choice === "auto") return { definitions, readsCalls: choice === "auto", grammar: undefined, syntax };
  const allowed = typeof choice === "string" ? checked : checked.filter(({ definition }) => definition.name === choice.function.name);
  if (allowed.length === 0) throw invalidRequest(`tool_choice names "${(choice as { function: { name: string } }).function.name}", which is not among the tools.`, "tool_choice");
  const grammar = await model.grammars.get(
    { toolCalls: { syntax, tools: allowed.map(({ definition, schema }) => ({ name: definition.name, schema })), parallel: request.parallel_tool_calls !== false && allowed.length > 0 } },
    "tools",
  );
  return { definitions, readsCalls: true, grammar, syntax };
}

export type ToolEvent = { kind: "content"; text: string } | { kind: "call"; delta: ToolCallDelta };

type State = "text" | "name" | "arguments" | "suffix" | "after";

/**
 * Reads calls out of a choice's text as it arrives: text outside calls is content; a call is
 * announced (id, name) once its name is complete, and its arguments stream as they come. The
 * arguments' end is found by following the JSON's nesting (strings and escapes included).
 */
export class ToolCallReader {
  readonly calls: ToolCall[] = [];
  private state: State = "text";
  private buffer = "";
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly syntax: ToolCallSyntax) {}

  push(text: string): ToolEvent[] {
    this.buffer += text;
    const events: ToolEvent[] = [];
    for (let progressed = true; progressed; ) progressed = this.step(events);
    return events;
  }

  /** The end of the text: what is still held back is content, unless a call was cut short. */
  finish(): ToolEvent[] {
    const rest = this.state === "text" || this.state === "after" ? this.buffer : "";
    this.buffer = "";
    return rest.length > 0 ? [{ kind: "content", text: rest }] : [];
  }

  private step(events: ToolEvent[]): boolean {
    const { syntax } = this;
    switch (this.state) {
      case "text": {
        const marker = syntax.open + syntax.prefix;
        const at = this.buffer.indexOf(marker);
        if (at === -1) {
          const held = heldBack(this.buffer, marker);
          if (held < this.buffer.length) events.push({ kind: "content", text: this.buffer.slice(0, this.buffer.length - held) });
          this.buffer = this.buffer.slice(this.buffer.length - held);
          return false;
        }
        if (at > 0) events.push({ kind: "content", text: this.buffer.slice(0, at) });
        this.buffer = this.buffer.slice(at + marker.length);
        this.state = "name";
        return true;
      }
      case "name": {
        const at = this.buffer.indexOf(syntax.paramsPrefix);
        if (at === -1) return false;
        const name = this.buffer.slice(0, at);
        const call: ToolCall = { id: `call_${randomBytes(12).toString("hex")}`, type: "function", function: { name, arguments: "" } };
        events.push({ kind: "call", delta: { index: this.calls.length, id: call.id, type: "function", function: { name, arguments: "" } } });
        this.calls.push(call);
        this.buffer = this.buffer.slice(at + syntax.paramsPrefix.length);
        this.state = "arguments";
        this.depth = 0;
        return true;
      }
      case "arguments": {
        const end = this.argumentsEnd();
        const fragment = this.buffer.slice(0, end);
        if (fragment.length > 0) {
          const call = this.calls.at(-1)!;
          call.function.arguments += fragment;
          events.push({ kind: "call", delta: { index: this.calls.length - 1, function: { arguments: fragment } } });
        }
        this.buffer = this.buffer.slice(end);
        if (this.depth > 0 || this.calls.at(-1)!.function.arguments.trim().length === 0) return false;
        this.state = "suffix";
        return true;
      }
      case "suffix": {
        if (this.buffer.length < syntax.suffix.length && syntax.suffix.startsWith(this.buffer)) return false;
        // A call the model did not close in the syntax leaves the rest as content.
        if (this.buffer.startsWith(syntax.suffix)) this.buffer = this.buffer.slice(syntax.suffix.length);
        this.state = "after";
        return true;
      }
      case "after": {
        const next = syntax.betweenCalls + syntax.prefix;
        if (this.buffer.startsWith(next)) {
          this.buffer = this.buffer.slice(next.length);
          this.state = "name";
          return true;
        }
        if (syntax.close.length > 0 && this.buffer.startsWith(syntax.close)) {
          this.buffer = this.buffer.slice(syntax.close.length);
          this.state = "text";
          return true;
        }
        if (next.startsWith(this.buffer) || syntax.close.startsWith(this.buffer)) return false;
        this.state = "text";
        return true;
      }
    }
  }

  /** How much of the buffer belongs to the arguments: up to where their JSON closes, else all. */
  private argumentsEnd(): number {
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === "\\") this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === "{" || c === "[") this.depth++;
      else if (c === "}" || c === "]") {
        this.depth--;
        if (this.depth === 0) return i + 1;
      }
    }
    return this.buffer.length;
  }
}

/** The length of the longest end of `text` that could begin `marker` (held back until it is known). */
function heldBack(text: string, marker: string): number {
  for (let n = Math.min(text.length, marker.length - 1); n > 0; n--) if (marker.startsWith(text.slice(text.length - n))) return n;
  return 0;
}
