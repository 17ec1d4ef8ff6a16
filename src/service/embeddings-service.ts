import type { EmbeddingModel } from "../engine/embedding-model.ts";
import type { EmbeddingRequest, EmbeddingResponse } from "../protocol/embeddings.ts";
import { contextLengthExceeded, invalidRequest, modelNotFound } from "../protocol/errors.ts";
import type { Gateway } from "./gateway.ts";

/** POST /v1/embeddings: one vector per input, from an embedding model (EMBEDDING_MODELS). */
export async function createEmbeddings(gateway: Gateway, request: EmbeddingRequest): Promise<EmbeddingResponse> {
  const model = gateway.servingEngine().embeddings.get(request.model);
  if (model === undefined) throw modelNotFound(request.model);
  if (request.dimensions != null) throw invalidRequest(`dimensions is not supported: ${model.id} returns its native vectors.`, "dimensions");
  const inputs = inputTokens(model, request.input);
  const vectors = await model.embed(inputs);
  const promptTokens = inputs.reduce((sum, tokens) => sum + tokens.length, 0);
  return {
    object: "list",
    data: vectors.map((vector, index) => ({ object: "embedding", index, embedding: request.encoding_format === "base64" ? base64(vector) : vector })),
    model: model.id,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

function inputTokens(model: EmbeddingModel, input: EmbeddingRequest["input"]): number[][] {
  // Tokenization is a synchronous native call: refuse, before any, a text that could not fit.
  const texts = typeof input === "string" ? [input] : input.filter((item): item is string => typeof item === "string");
  const long = texts.findIndex((text) => text.length > model.maxInputChars);
  if (long !== -1) {
    throw contextLengthExceeded(`Input ${long} has ${texts[long]!.length} characters, more than the ${model.maxInputChars} that ${model.contextSize} tokens of this model could ever hold.`, "input");
  }
  const lists = typeof input === "string" ? [model.tokenize(input)]
    : input.every((item) => typeof item === "string") ? (input as string[]).map((text) => model.tokenize(text))
    : input.every((item) => typeof item === "number") ? [input as number[]]
    : (input as number[][]);
  lists.forEach((tokens, i) => {
    const bad = tokens.find((token) => token >= model.vocabularySize);
    if (bad !== undefined) throw invalidRequest(`Token id ${bad} is outside the model's vocabulary of ${model.vocabularySize}.`, "input");
    if (tokens.length > model.contextSize) throw contextLengthExceeded(`Input ${i} has ${tokens.length} tokens; this model embeds at most ${model.contextSize}.`, "input");
    if (tokens.length === 0) throw invalidRequest(`Input ${i} is empty.`, "input");
  });
  return lists;
}

/** OpenAI's base64 encoding: the little-endian float32 bytes. */
function base64(vector: readonly number[]): string {
  return Buffer.from(Float32Array.from(vector).buffer).toString("base64");
}
