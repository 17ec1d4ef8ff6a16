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

/**
 * One training sequence. labels[p] is the token the model should produce after
 * tokens[0..p] (a reply token), or NO_LOSS. A label need not be tokens[p + 1]: a reply that
 * ends its turn with an end token is followed, in a later turn's prompt, by the template's
 * own text, and a causal model's prediction at p never sees what comes after p.
 */
export interface TokenizedExample {
  tokens: number[];
  labels: number[];
}

export const NO_LOSS = -1;

/** Tokens serving holds for this sequence: its input and the last reply token it generates. */
export function sequenceLength(example: TokenizedExample): number {
  return example.tokens.length + 1;
}

/** A prompt and the reply generated after it, loss on the reply. */
export function replyExample(prompt: readonly number[], reply: readonly number[]): TokenizedExample {
  const all = [...prompt, ...reply];
  return {
    tokens: all.slice(0, -1),
    labels: all.slice(1).map((token, p) => (p + 1 >= prompt.length ? token : NO_LOSS)),
  };
}

/**
 * The training sequences of one example. A completion is one. A chat trains every assistant
 * message without `weight: 0`, each as the reply to the conversation before it rendered as
 * serving renders it; consecutive replies share one sequence when the earlier one's tokens
 * are, token for token, the start of the later prompt (so each loss term is still exactly
 * serving's), and start a new sequence when the template tokenizes them differently.
 */
export function encodeExample(example: Example, formatter: TrainingFormatter): TokenizedExample[] {
  if (example.kind === "completion") return [replyExample(formatter.completionPrompt(example.prompt), formatter.completionReply(example.completion))];
  const sequences: TokenizedExample[] = [];
  example.messages.forEach((message, index) => {
    if (message.role !== "assistant" || message.weight === 0) return;
    const next = replyExample(formatter.chatPrompt(example.messages.slice(0, index)), formatter.chatReply(message.content));
    const last = sequences.at(-1);
    if (last !== undefined && continues(next, last)) sequences[sequences.length - 1] = { tokens: next.tokens, labels: next.labels.map((label, p) => (p < last.labels.length && last.labels[p] !== NO_LOSS ? last.labels[p]! : label)) };
    else sequences.push(next);
  });
  return sequences;
}

/** `later`'s input starts with all of `earlier`'s, and its own loss starts after `earlier`'s. */
function continues(later: TokenizedExample, earlier: TokenizedExample): boolean {
  if (later.tokens.length <= earlier.tokens.length || !earlier.tokens.every((token, p) => later.tokens[p] === token)) return false;
  return later.labels.slice(0, earlier.labels.length).every((label) => label === NO_LOSS);
}

export interface TooLong {
  /** 0-based index among the sequences. */
  index: number;
  tokens: number;
}

/** Sequences longer than the context: reported, never silently cut. */
export function tooLong(examples: readonly TokenizedExample[], contextLength: number): TooLong[] {
  return examples.flatMap((example, index) => (sequenceLength(example) > contextLength ? [{ index, tokens: sequenceLength(example) }] : []));
}
