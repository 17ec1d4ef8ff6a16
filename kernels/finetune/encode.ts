/**
 * Examples as token sequences exactly as serving would see them: the prompt through the
 * served model's own chat renderer (or its completion tokenizer), the reply as the tokens
 * the model should generate after it, ending where serving stops. Only reply tokens carry
 * loss. The formatter is a narrow interface the engine implements, so kernels/ never loads
 * node-llama-cpp.
 */
import type { ChatMessage, Example } from "./dataset.ts";

export interface TrainingFormatter {
  /** Tokens /v1/chat/completions feeds the model for these messages (generation prompt included). */
  chatPrompt(messages: readonly ChatMessage[]): number[];
  /** Tokens /v1/completions feeds the model for this prompt. */
  completionPrompt(prompt: string): number[];
  /** What the model should generate as a chat reply with this content, ending the turn. */
  chatReply(content: string): number[];
  /** What the model should generate as a completion, ending it. */
  completionReply(text: string): number[];
}

/** tokens[i] for i >= replyStart are targets (each predicted from the tokens before it). */
export interface TokenizedExample {
  tokens: number[];
  replyStart: number;
}

export function encodeExample(example: Example, formatter: TrainingFormatter): TokenizedExample {
  if (example.kind === "completion") {
    const prompt = formatter.completionPrompt(example.prompt);
    return { tokens: [...prompt, ...formatter.completionReply(example.completion)], replyStart: prompt.length };
  }
  const prompt = formatter.chatPrompt(example.messages.slice(0, -1));
  return { tokens: [...prompt, ...formatter.chatReply(example.messages.at(-1)!.content)], replyStart: prompt.length };
}

export interface TooLong {
  /** 0-based index among the examples. */
  index: number;
  tokens: number;
}

/** Examples longer than the context: reported, never silently cut. */
export function tooLong(examples: readonly TokenizedExample[], contextLength: number): TooLong[] {
  return examples.flatMap((example, index) => (example.tokens.length > contextLength ? [{ index, tokens: example.tokens.length }] : []));
}
