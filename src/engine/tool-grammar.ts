/**
 * The grammar of a turn made only of tool calls (tool_choice "required" or a named function):
 * the syntax's text around each call, one of the allowed names, and that function's arguments
 * under its own JSON schema's grammar. One call, or several when parallel calls are allowed.
 */
import type { ToolCallSyntax } from "./tool-format.ts";

export interface ToolGrammarTool {
  readonly name: string;
  /** The GBNF of its arguments' schema (root rule `root`). */
  readonly arguments: string;
}

export function toolCallsGbnf(syntax: ToolCallSyntax, tools: readonly ToolGrammarTool[], parallel: boolean): string {
  const rules: string[] = [];
  const alternatives = tools.map((tool, i) => {
    const prefix = `tool${i}-`;
    rules.push(renameRules(tool.arguments, prefix));
    return `${literal(tool.name + syntax.paramsPrefix)} ${prefix}root`;
  });
  const call = `${literal(syntax.prefix)} ( ${alternatives.join(" | ")} ) ${literal(syntax.suffix)}`;
  const calls = parallel ? `call ( ${literal(syntax.betweenCalls)} call )*` : "call";
  return [`root ::= ${literal(syntax.open)} ${calls} ${literal(syntax.close)}`, `call ::= ${call}`, ...rules].join("\n");
}

/** A GBNF string literal for `text`; nothing for the empty text. */
export function literal(text: string): string {
  if (text.length === 0) return "";
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\t/g, "\\t")}"`;
}

/**
 * Prefixes every rule name of a grammar (definitions and references), so several grammars can
 * share one file. Quoted literals and character classes are left as they are.
 */
export function renameRules(gbnf: string, prefix: string): string {
  let out = "";
  let i = 0;
  while (i < gbnf.length) {
    const c = gbnf[i]!;
    if (c === '"' || c === "[") {
      const end = closing(gbnf, i, c === '"' ? '"' : "]");
      out += gbnf.slice(i, end);
      i = end;
    } else if (c === "#") {
      const end = gbnf.indexOf("\n", i);
      i = end === -1 ? gbnf.length : end;
    } else if (/[a-zA-Z]/.test(c)) {
      const name = /^[a-zA-Z0-9_-]+/.exec(gbnf.slice(i))![0];
      out += prefix + name;
      i += name.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The index after the literal or class opened at `start` (backslash escapes skipped). */
function closing(text: string, start: number, end: string): number {
  let i = start + 1;
  while (i < text.length && text[i] !== end) i += text[i] === "\\" ? 2 : 1;
  return i + 1;
}
