import { JinjaTemplateChatWrapper, type ChatHistoryItem, type ChatModelFunctions, type LlamaModel } from "node-llama-cpp";
import { defaultToolSyntax, defaultToolsPrompt, writeToolCalls, type RenderedToolCall, type ToolCallSyntax, type ToolDefinition } from "./tool-format.ts";

export interface TemplateMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /** The calls an assistant turn made. */
  toolCalls?: readonly RenderedToolCall[];
}

export interface RenderedChat {
  tokens: number[];
  /** Stop strings the template implies (the start of the next user turn). */
  stops: string[];
}

const defaultRoleNames = { system: "System", user: "User", assistant: "Assistant", tool: "Tool" } as const;

/**
 * How a model turns a conversation into its prompt, built once per model: the GGUF's own chat
 * template (tokenizer.chat_template, or CHAT_TEMPLATE's file) through node-llama-cpp's Jinja
 * wrapper, with its textual stop triggers worked out once; else the default plain-text template
 * documented in the README:
 *
 *     System: {content}\nUser: {content}\nAssistant: {content}\n...Assistant:
 *
 * Tools: a template with a tool format of its own (node-llama-cpp extracts it from the Jinja
 * template) renders the tools, the calls and their results itself, and the model's calls are
 * read in its syntax. Otherwise the tools are listed in a leading system turn in the default
 * format (tool-format.ts), calls are written back in that syntax and results as "Tool:" turns
 * (as user turns under a template without tool support).
 */
export class ChatRenderer {
  private readonly wrapper: JinjaTemplateChatWrapper | undefined;
  private stops: string[] | undefined;

  constructor(
    private readonly model: LlamaModel,
    template: string | undefined,
    private readonly tokenize: (text: string) => number[],
  ) {
    this.wrapper = template === undefined ? undefined : new JinjaTemplateChatWrapper({ template });
  }

  /** How this model's calls are written (the template's own syntax, else the default). */
  get toolSyntax(): ToolCallSyntax {
    return this.templateToolSyntax ?? defaultToolSyntax;
  }

  render(messages: readonly TemplateMessage[], tools: readonly ToolDefinition[] = []): RenderedChat {
    const own = this.templateToolSyntax !== undefined;
    // Without a tool format of the template's own, tools and calls are text in the default format.
    const listed = tools.length > 0 && !own ? [{ role: "system" as const, content: defaultToolsPrompt(tools) }, ...messages] : messages;
    if (this.wrapper === undefined) return this.renderDefault(listed);
    const history: ChatHistoryItem[] = [...(own ? toToolHistory(messages) : listed.map(toHistoryItem)), { type: "model", response: [] }];
    const availableFunctions = own && tools.length > 0 ? toFunctions(tools) : undefined;
    const { contextText, stopGenerationTriggers } = this.wrapper.generateContextState({ chatHistory: history, ...(availableFunctions === undefined ? {} : { availableFunctions }) });
    // Triggers made of special tokens end generation as EOG tokens; the textual ones become stop
    // strings. They depend on the template only, so they are worked out on the first render.
    this.stops ??= stopGenerationTriggers
      .map((trigger) => trigger.toString())
      .filter((text) => text.length > 0 && this.tokenize(text).every((token) => !this.model.isEogToken(token as never)));
    return { tokens: contextText.tokenize(this.model.tokenizer), stops: this.stops };
  }

  /** The Jinja template's own tool syntax, when node-llama-cpp found one in it. */
  private get templateToolSyntax(): ToolCallSyntax | undefined {
    const wrapper = this.wrapper;
    if (wrapper === undefined || !wrapper.usingJinjaFunctionCallTemplate) return undefined;
    const call = wrapper.settings.functions.call;
    const section = wrapper.settings.functions.parallelism?.call;
    const syntax: ToolCallSyntax = {
      open: String(section?.sectionPrefix ?? ""),
      prefix: String(call.prefix),
      paramsPrefix: String(call.paramsPrefix),
      suffix: String(call.suffix),
      betweenCalls: String(section?.betweenCalls ?? ""),
      // A section's end is the end of the model's turn (often an end-of-turn token and the next
      // turn's header): generation ends there, so it is not grammar text.
      close: "",
    };
    // Name templates inside the syntax are not followed: the default format is used instead.
    return Object.values(syntax).some((part) => part.includes("{{")) ? undefined : syntax;
  }

  /**
   * The text a reply with this content is generated as, right after render()'s prompt: the
   * default template's prompt ends in "Assistant:" and its history writes "Assistant: {content}".
   */
  replyText(content: string): string {
    return this.wrapper === undefined ? ` ${content}` : content;
  }

  private renderDefault(messages: readonly TemplateMessage[]): RenderedChat {
    const turns = messages.map((message) => `${defaultRoleNames[message.role]}: ${message.content}${writeToolCalls(defaultToolSyntax, message.toolCalls ?? [])}\n`);
    return { tokens: this.tokenize(`${turns.join("")}${defaultRoleNames.assistant}:`), stops: [`\n${defaultRoleNames.user}:`] };
  }
}

function toHistoryItem(message: TemplateMessage): ChatHistoryItem {
  if (message.role === "assistant") return { type: "model", response: [message.content + writeToolCalls(defaultToolSyntax, message.toolCalls ?? [])] };
  if (message.role === "tool") return { type: "user", text: `Tool: ${message.content}` };
  return { type: message.role, text: message.content };
}

/**
 * The history in node-llama-cpp's terms for a template with tools: each call carries its result
 * (the tool turns that follow it, in order), as the template renders them.
 */
function toToolHistory(messages: readonly TemplateMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  let pending: { params: unknown; result: unknown }[] = [];
  for (const message of messages) {
    if (message.role === "tool") {
      const call = pending.shift();
      if (call !== undefined) call.result = message.content;
      else history.push({ type: "user", text: message.content });
      continue;
    }
    if (message.role === "assistant") {
      const calls = (message.toolCalls ?? []).map((call, i) => ({ type: "functionCall" as const, name: call.name, params: parseArguments(call.arguments), result: "", ...(i === 0 ? { startsNewChunk: true } : {}) }));
      pending = [...calls];
      history.push({ type: "model", response: [...(message.content.length > 0 ? [message.content] : []), ...calls] });
      continue;
    }
    pending = [];
    history.push({ type: message.role, text: message.content });
  }
  return history;
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toFunctions(tools: readonly ToolDefinition[]): ChatModelFunctions {
  return Object.fromEntries(tools.map((tool) => [tool.name, { ...(tool.description === undefined ? {} : { description: tool.description }), params: tool.parameters as never }]));
}
