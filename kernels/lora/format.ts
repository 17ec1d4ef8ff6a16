/**
 * The LoRA adapter file convention: llama.cpp's LoRA GGUF (src/llama-adapter.cpp,
 * `llama_adapter_lora_init_impl`; the scale in src/llama-adapter.h, `get_scale`; applied
 * in src/llama-graph.cpp, `build_lora_mm`).
 *
 * Metadata:
 *   general.type         string  "adapter"
 *   general.architecture string  the base model's architecture ("llama")
 *   adapter.type         string  "lora"
 *   adapter.lora.alpha   float32 alpha (> 0 in our files)
 * llama.cpp reads these with gguf_get_val_str / gguf_get_val_f32, which assert the value
 * type: a key of the wrong type aborts the process, so the reader checks types too.
 *
 * Tensors, for a base projection `blk.L.P.weight` (W[out][in], ggml shape [in, out]):
 *   blk.L.P.weight.lora_a  ggml shape [in, rank]   = row-major A[rank][in]  (PEFT lora_A)
 *   blk.L.P.weight.lora_b  ggml shape [rank, out]  = row-major B[out][rank] (PEFT lora_B)
 * llama.cpp checks W.ne[0] == A.ne[0], W.ne[1] == B.ne[1] and A.ne[1] == B.ne[0], and
 * takes the rank from B.ne[0].
 *
 * Effect on the projection of x ([N, in], our tfjs orientation):
 *   y = x·Wᵀ + s · (x·Aᵀ)·Bᵀ   with  s = adapterScale · alpha / rank  (alpha != 0),
 * where adapterScale is the per-context scale (node-llama-cpp `lora.adapters[].scale`,
 * default 1). In ggml: ggml_scale(ggml_mul_mat(B, ggml_mul_mat(A, x)), s).
 */
import { PROJECTIONS, type ProjectionName } from "../transformer/weights.ts";

export const ADAPTER_KEYS = {
  generalType: "general.type",
  architecture: "general.architecture",
  name: "general.name",
  adapterType: "adapter.type",
  alpha: "adapter.lora.alpha",
  /** aLoRA (activated only after invocation tokens): not supported here. */
  aloraInvocationTokens: "adapter.alora.invocation_tokens",
} as const;

export const GENERAL_TYPE_ADAPTER = "adapter";
export const ADAPTER_TYPE_LORA = "lora";

/** The base tensor a LoRA pair adapts, and its two tensor names. */
export function loraTensorNames(layer: number, projection: ProjectionName): { base: string; a: string; b: string } {
  const base = `blk.${layer}.${projection}.weight`;
  return { base, a: `${base}.lora_a`, b: `${base}.lora_b` };
}

const TENSOR_NAME = new RegExp(`^blk\\.(0|[1-9][0-9]{0,5})\\.(${PROJECTIONS.join("|")})\\.weight\\.lora_(a|b)$`);

export interface LoraTensorName {
  layer: number;
  projection: ProjectionName;
  part: "a" | "b";
}

/** Parses `blk.L.P.weight.lora_a|b`; undefined for any other name. */
export function parseLoraTensorName(name: string): LoraTensorName | undefined {
  const match = TENSOR_NAME.exec(name);
  if (!match) return undefined;
  return { layer: Number(match[1]), projection: match[2] as ProjectionName, part: match[3] as "a" | "b" };
}

/** llama_adapter_lora_weight::get_scale: alpha ? adapterScale * alpha / rank : adapterScale. */
export function effectiveScale(alpha: number, rank: number, adapterScale = 1): number {
  return alpha ? (adapterScale * alpha) / rank : adapterScale;
}
