/** Hyperparameters of a llama-architecture model, named as in GGUF's `llama.*` keys. */
export interface LlamaConfig {
  vocabSize: number;
  /** llama.embedding_length */
  dim: number;
  /** llama.block_count */
  layers: number;
  /** llama.attention.head_count */
  heads: number;
  /** llama.attention.head_count_kv */
  kvHeads: number;
  /** llama.feed_forward_length */
  ffnDim: number;
  /** llama.context_length */
  contextLength: number;
  /** llama.rope.freq_base */
  ropeBase: number;
  /** llama.attention.layer_norm_rms_epsilon */
  normEps: number;
}

export function headDim(config: LlamaConfig): number {
  return config.dim / config.heads;
}

export function validateConfig(config: LlamaConfig): void {
  const problems: string[] = [];
  if (config.dim % config.heads !== 0) problems.push(`dim ${config.dim} is not a multiple of heads ${config.heads}`);
  if (config.heads % config.kvHeads !== 0) problems.push(`heads ${config.heads} is not a multiple of kvHeads ${config.kvHeads}`);
  if (headDim(config) % 2 !== 0) problems.push("head dimension must be even for RoPE");
  for (const [key, value] of Object.entries(config)) {
    if (!(typeof value === "number" && Number.isFinite(value) && value > 0)) problems.push(`${key} must be a positive number`);
  }
  if (problems.length) throw new Error(`invalid model config: ${problems.join("; ")}`);
}

/** Parameter count, embeddings and output head included (they are not tied). */
export function parameterCount(config: LlamaConfig): number {
  const kvDim = headDim(config) * config.kvHeads;
  const perLayer = 2 * config.dim + 2 * config.dim * config.dim + 2 * config.dim * kvDim + 3 * config.dim * config.ffnDim;
  return 2 * config.vocabSize * config.dim + config.layers * perLayer + config.dim;
}
