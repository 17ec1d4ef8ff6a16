import { z } from "zod";

/** OpenAI's function tools on chat completions. */
export const toolsField = z
  .array(
    z.strictObject({
      type: z.literal("function"),
      function: z.strictObject({
        name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "function names: letters, digits, _ and -, at most 64"),
        description: z.string().nullish(),
        parameters: z.record(z.string(), z.unknown()).nullish(),
        strict: z.boolean().nullish(),
      }),
    }),
  )
  .max(128)
  .nullish();

export const toolChoiceField = z
  .union([z.enum(["none", "auto", "required"]), z.strictObject({ type: z.literal("function"), function: z.strictObject({ name: z.string() }) })])
  .nullish();

/** A call as the assistant made it (in responses and in the history a client sends back). */
export const toolCallSchema = z.strictObject({
  id: z.string().min(1),
  type: z.literal("function"),
  function: z.strictObject({ name: z.string().min(1), arguments: z.string() }),
});

export type ToolCall = z.infer<typeof toolCallSchema>;
export type Tool = NonNullable<z.infer<typeof toolsField>>[number];
export type ToolChoice = NonNullable<z.infer<typeof toolChoiceField>>;

/** One streamed fragment of a tool call (OpenAI's delta shape: id, type and name come first, once). */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: "function";
  function: { name?: string; arguments: string };
}
