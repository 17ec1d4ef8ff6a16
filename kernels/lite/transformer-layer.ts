import { initBackend } from "../tfjs/backend.ts";
import { loadVocabulary } from "../tokenizer/llama-tokenizer.ts";
import { readLlamaModel } from "../transformer/gguf-model.ts";
import type { TextExample } from "./inverse-cloze.ts";
import { initialLiteParameters, LiteScorer, type LiteShape } from "./scorer.ts";
import type { TokenMatrix } from "./token-matrix.ts";
import { evaluate, type RankingExample } from "./train.ts";
import { fileSha256 } from "../file-sha256.ts";
import { TransformerEncoder } from "./transformer-encoder.ts";

/** Training passages whose mean hidden state centres the vectors. */
const CENTER_PASSAGES = 64;

export interface ChosenLayer {
  encoder: TransformerEncoder;
  /** The GGUF's block count. */
  layers: number;
  /** MaxSim's validation MRR@10 per candidate layer (what chose it). */
  validationMrr: Record<number, number>;
}

/**
 * Which layer's hidden states a transformer encoder reads: each candidate's centre is the mean
 * state over training passages, and the layer whose MaxSim (the untrained LITE scorer) ranks
 * the validation queries best is kept. One forward pass per text gives every candidate layer.
 */
export async function chooseTransformerLayer(
  gguf: string,
  candidates: readonly number[],
  train: readonly TextExample[],
  validation: readonly TextExample[],
  shape: LiteShape,
  seed: number,
  log: (message: string) => void,
): Promise<ChosenLayer> {
  await initBackend(log);
  const model = readLlamaModel(gguf);
  const tokenizer = await loadVocabulary(gguf);
  const sha256 = fileSha256(gguf);
  const deepest = Math.max(...candidates);
  const { dim } = model.config;
  const probe = new TransformerEncoder(model, tokenizer, { gguf, sha256, layer: deepest, center: new Array<number>(dim).fill(0) });
  const raw = (text: string, length: number) => probe.states(probe.tokens(text).slice(0, length), deepest);

  const centers = new Map(candidates.map((layer) => [layer, new Float64Array(dim)]));
  let count = 0;
  for (const text of [...new Set(train.flatMap((example) => example.candidates))].slice(0, CENTER_PASSAGES)) {
    const states = raw(text, shape.documentLength);
    for (const [layer, center] of centers) {
      const state = states[layer - 1]!;
      for (let i = 0; i < state.length; i++) center[i % dim]! += state[i]!;
    }
    count += states[0]!.length / dim;
  }
  const centerOf = (layer: number) => Float32Array.from(centers.get(layer)!, (sum) => sum / count);
  log(`transformer encoder: centres from ${count} tokens`);

  // Per text, its matrix at every candidate layer.
  const memo = new Map<string, TokenMatrix[]>();
  const matrices = (text: string, length: number): TokenMatrix[] => {
    const key = `${length}:${text}`;
    let found = memo.get(key);
    if (found === undefined) {
      const states = raw(text, length);
      memo.set(key, (found = candidates.map((layer) => TransformerEncoder.normalise(states[layer - 1]!, dim, centerOf(layer)))));
    }
    return found;
  };
  const perLayer: RankingExample[][] = candidates.map(() => []);
  for (const example of validation) {
    const query = matrices(example.query, shape.queryLength);
    const documents = example.candidates.map((text) => matrices(text, shape.documentLength));
    candidates.forEach((_, k) => perLayer[k]!.push({ query: query[k]!, candidates: documents.map((document) => document[k]!) }));
  }
  const maxSim = new LiteScorer(shape, initialLiteParameters(shape, seed));
  const validationMrr: Record<number, number> = {};
  candidates.forEach((layer, k) => (validationMrr[layer] = evaluate(maxSim, perLayer[k]!).mrr));
  const layer = candidates.reduce((best, candidate) => (validationMrr[candidate]! > validationMrr[best]! ? candidate : best));
  log(`transformer encoder: validation MaxSim MRR@10 by layer ${candidates.map((l) => `${l}: ${validationMrr[l]!.toFixed(4)}`).join(", ")}; layer ${layer}`);
  const encoder = new TransformerEncoder(model, tokenizer, { gguf, sha256, layer, center: [...centerOf(layer)] }, 50_000);
  for (const [key, found] of memo) {
    const colon = key.indexOf(":");
    encoder.remember(key.slice(colon + 1), Number(key.slice(0, colon)), found[candidates.indexOf(layer)]!);
  }
  return {
    encoder,
    layers: model.config.layers,
    validationMrr,
  };
}
