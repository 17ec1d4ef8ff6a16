export interface ModelCard {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
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
