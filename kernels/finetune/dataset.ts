/**
 * OpenAI fine-tuning JSONL, one example per line: the chat form {"messages": [...]} or the
 * legacy {"prompt": "...", "completion": "..."}. Every bad line is reported with its
 * number, so a file is accepted or refused as a whole. As OpenAI does, every assistant
 * message of a chat is trained on unless it carries `"weight": 0`.
 */
import { z } from "zod";

export type Role = "system" | "user" | "assistant";

export interface ChatMessage {
  role: Role;
  content: string;
  /** Assistant messages only: 0 keeps the message as context without training on it (default 1). */
  weight?: 0 | 1;
}

export type Example = { kind: "chat"; messages: ChatMessage[] } | { kind: "completion"; prompt: string; completion: string };

export interface LineError {
  /** 1-based. */
  line: number;
  message: string;
}

const message = z
  .object({
    role: z.enum(["system", "user", "assistant"]),
    content: z.string(),
    weight: z.union([z.literal(0), z.literal(1)], { error: "must be 0 or 1" }).optional(),
  })
  .refine((value) => value.weight === undefined || value.role === "assistant", { message: "only assistant messages take a weight", path: ["weight"] });
const chat = z
  .object({ messages: z.array(message).min(1) })
  .refine((value) => value.messages.some((m) => m.role === "assistant"), { message: "no assistant message (the assistant's replies are what is trained)" })
  .refine((value) => !value.messages.some((m) => m.role === "assistant") || value.messages.some((m) => m.role === "assistant" && m.weight !== 0), {
    message: "every assistant message has weight 0: nothing to train on",
  });
const completion = z.object({ prompt: z.string(), completion: z.string().min(1) });

export interface ParsedDataset {
  examples: Example[];
  /** The 1-based line of each example. */
  lines: number[];
  errors: LineError[];
}

export function parseDataset(text: string): ParsedDataset {
  const examples: Example[] = [];
  const lines: number[] = [];
  const errors: LineError[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      errors.push({ line, message: "not valid JSON" });
      return;
    }
    if (typeof value === "object" && value !== null && "messages" in value) {
      const parsed = chat.safeParse(value);
      if (parsed.success) {
        examples.push({ kind: "chat", messages: parsed.data.messages });
        lines.push(line);
      } else errors.push({ line, message: describe(parsed.error) });
      return;
    }
    const parsed = completion.safeParse(value);
    if (parsed.success) {
      examples.push({ kind: "completion", ...parsed.data });
      lines.push(line);
    } else errors.push({ line, message: `expected {"messages": [...]} or {"prompt", "completion"}: ${describe(parsed.error)}` });
  });
  return { examples, lines, errors };
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => (issue.path.length ? `${issue.path.join(".")}: ${issue.message}` : issue.message)).join("; ");
}

/** "line 3: not valid JSON; line 7: ..." with at most `limit` lines named. */
export function formatLineErrors(errors: readonly LineError[], limit = 10): string {
  const named = errors.slice(0, limit).map((error) => `line ${error.line}: ${error.message}`);
  if (errors.length > limit) named.push(`and ${errors.length - limit} more`);
  return named.join("; ");
}
