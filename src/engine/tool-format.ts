/**
 * How a model writes tool calls: the text around each call, its name and its JSON arguments.
 * A chat template with a tool format of its own (node-llama-cpp reads it out of the Jinja
 * template) gives one; otherwise the default below, documented in docs/structured-output.md:
 *
 *     <tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>
 *
 * one call per block, blocks separated by a newline (Hermes' and Qwen's format, which many
 * models were trained on).
 */
export interface ToolCallSyntax {
  /** Before the first call of a turn (a section opener some templates have; default none). */
  readonly open: string;
  /** Before each call's name. */
  readonly prefix: string;
  /** Between the name and the JSON arguments. */
  readonly paramsPrefix: string;
  /** After the arguments. */
  readonly suffix: string;
  readonly betweenCalls: string;
  /** After the last call (default none). */
  readonly close: string;
}

export const defaultToolSyntax: ToolCallSyntax = {
  open: "",
  prefix: '<tool_call>{"name": "',
  paramsPrefix: '", "arguments": ',
  suffix: "}</tool_call>",
  betweenCalls: "\n",
  close: "",
};

/** A function the model may call, in engine terms. */
export interface ToolDefinition {
  readonly name: string;
  readonly description?: string;
  /** Its JSON Schema, as the client sent it (what the model reads). */
  readonly parameters: object;
}

/** A call in the history, to render back to the model. */
export interface RenderedToolCall {
  readonly name: string;
  /** The arguments' JSON text. */
  readonly arguments: string;
}

/** One call written in `syntax`. */
export function writeToolCall(syntax: ToolCallSyntax, call: RenderedToolCall): string {
  return `${syntax.prefix}${call.name}${syntax.paramsPrefix}${call.arguments}${syntax.suffix}`;
}

/** A turn's calls written in `syntax`. */
export function writeToolCalls(syntax: ToolCallSyntax, calls: readonly RenderedToolCall[]): string {
  return calls.length === 0 ? "" : syntax.open + calls.map((call) => writeToolCall(syntax, call)).join(syntax.betweenCalls) + syntax.close;
}

/** The default system text that lists the tools and how to call them. */
export function defaultToolsPrompt(tools: readonly ToolDefinition[]): string {
  const listed = tools.map((tool) => JSON.stringify({ name: tool.name, ...(tool.description === undefined ? {} : { description: tool.description }), parameters: tool.parameters }));
  const example = writeToolCall(defaultToolSyntax, { name: "<name>", arguments: "<arguments as JSON>" });
  return `You can call these tools. To call one, write ${example}, one block per call.\nTools:\n${listed.join("\n")}`;
}
