import { z } from "zod";

const tokenArray = z.array(z.number().int().min(0)).min(1);

/** OpenAI's POST /v1/embeddings body; inputs as text, texts, tokens or token lists. */
export const embeddingRequestSchema = z.strictObject({
  model: z.string().min(1),
  input: z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(2048), tokenArray, z.array(tokenArray).min(1).max(2048)]),
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  user: z.string().nullish(),
});

export type EmbeddingRequest = z.infer<typeof embeddingRequestSchema>;

export interface EmbeddingResponse {
  object: "list";
  data: { object: "embedding"; index: number; embedding: number[] | string }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
