export interface ModelCard {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  /** Our extension: what the model serves (generative: completions and chat; ranking: rerank; embedding: embeddings). */
  kind: "generative" | "ranking" | "embedding";
  /** Our extension for rerankers: how it scores (lite, maxsim, dual-encoder, bm25, gguf). */
  method?: string;
  /** vLLM's fields for a LoRA adapter: its base model id (`parent`) and itself (`root`). */
  parent?: string;
  root?: string;
  /** Our extension for adapters: the version new requests get. */
  version?: number;
}

export interface ModelList {
  object: "list";
  data: ModelCard[];
}
