export interface ModelCard {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  /** Our extension: what the model serves (generative: completions and chat; ranking: rerank; embedding: embeddings). */
  kind: "generative" | "ranking" | "embedding";
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
