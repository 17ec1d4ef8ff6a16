import { z } from "zod";

/** OpenAI's response_format on chat completions. */
export const responseFormatField = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("text") }),
    z.strictObject({ type: z.literal("json_object") }),
    z.strictObject({
      type: z.literal("json_schema"),
      json_schema: z.strictObject({
        name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "json_schema.name: letters, digits, _ and -, at most 64"),
        description: z.string().nullish(),
        schema: z.record(z.string(), z.unknown()).nullish(),
        strict: z.boolean().nullish(),
      }),
    }),
  ])
  .nullish();

export type ResponseFormat = NonNullable<z.infer<typeof responseFormatField>>;

/** Extension: a GBNF grammar (llama.cpp's syntax, `root` rule) every choice's text matches. */
export const grammarField = z.string().min(1).max(65_536).nullish();
