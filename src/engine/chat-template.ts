import { JinjaTemplateChatWrapper, type ChatHistoryItem } from "node-llama-cpp";
import type { ServedModel } from "./served-model.ts";

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
 * The prompt for a conversation: the GGUF's own chat template (tokenizer.chat_template) when it
 * has one, else the default plain-text template documented in the README:
 *
 *     System: {content}\nUser: {content}\nAssistant: {content}\n...Assistant:
 */
export function renderChat(model: ServedModel, messages: readonly TemplateMessage[]): RenderedChat {
  const template = model.chatTemplate;
  if (template === undefined) return renderDefault(model, messages);
  const wrapper = new JinjaTemplateChatWrapper({ template });
  const history: ChatHistoryItem[] = [...messages.map(toHistoryItem), { type: "model", response: [] }];
  const { contextText, stopGenerationTriggers } = wrapper.generateContextState({ chatHistory: history });
  // Triggers made of special tokens end generation as EOG tokens; the textual ones become stop strings.
  const stops = stopGenerationTriggers.map((trigger) => trigger.toString()).filter((text) => text.length > 0 && model.tokenize(text).every((token) => !model.isEndOfGeneration(token)));
  return { tokens: contextText.tokenize(model.model.tokenizer), stops };
}

function renderDefault(model: ServedModel, messages: readonly TemplateMessage[]): RenderedChat {
  const turns = messages.map((message) => `${defaultRoleNames[message.role]}: ${message.content}\n`);
  return { tokens: model.tokenize(`${turns.join("")}${defaultRoleNames.assistant}:`), stops: [`\n${defaultRoleNames.user}:`] };
}

function toHistoryItem(message: TemplateMessage): ChatHistoryItem {
  if (message.role === "assistant") return { type: "model", response: [message.content] };
  return { type: message.role, text: message.content };
}
