import { JinjaTemplateChatWrapper, type ChatHistoryItem, type LlamaModel } from "node-llama-cpp";

export interface TemplateMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface RenderedChat {
  tokens: number[];
  /** Stop strings the template implies (the start of the next user turn). */
  stops: string[];
}

const defaultRoleNames = { system: "System", user: "User", assistant: "Assistant" } as const;

/**
 * How a model turns a conversation into its prompt, built once per model: the GGUF's own chat
 * template (tokenizer.chat_template, or CHAT_TEMPLATE's file) through node-llama-cpp's Jinja
 * wrapper, with its textual stop triggers worked out once; else the default plain-text template
 * documented in the README:
 *
 *     System: {content}\nUser: {content}\nAssistant: {content}\n...Assistant:
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

  render(messages: readonly TemplateMessage[]): RenderedChat {
    if (this.wrapper === undefined) return this.renderDefault(messages);
    const history: ChatHistoryItem[] = [...messages.map(toHistoryItem), { type: "model", response: [] }];
    const { contextText, stopGenerationTriggers } = this.wrapper.generateContextState({ chatHistory: history });
    // Triggers made of special tokens end generation as EOG tokens; the textual ones become stop
    // strings. They depend on the template only, so they are worked out on the first render.
    this.stops ??= stopGenerationTriggers
      .map((trigger) => trigger.toString())
      .filter((text) => text.length > 0 && this.tokenize(text).every((token) => !this.model.isEogToken(token as never)));
    return { tokens: contextText.tokenize(this.model.tokenizer), stops: this.stops };
  }

  /**
   * The text a reply with this content is generated as, right after render()'s prompt: the
   * default template's prompt ends in "Assistant:" and its history writes "Assistant: {content}".
   */
  replyText(content: string): string {
    return this.wrapper === undefined ? ` ${content}` : content;
  }

  private renderDefault(messages: readonly TemplateMessage[]): RenderedChat {
    const turns = messages.map((message) => `${defaultRoleNames[message.role]}: ${message.content}\n`);
    return { tokens: this.tokenize(`${turns.join("")}${defaultRoleNames.assistant}:`), stops: [`\n${defaultRoleNames.user}:`] };
  }
}

function toHistoryItem(message: TemplateMessage): ChatHistoryItem {
  if (message.role === "assistant") return { type: "model", response: [message.content] };
  return { type: message.role, text: message.content };
}
