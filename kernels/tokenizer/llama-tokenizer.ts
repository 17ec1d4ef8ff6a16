/**
 * Tokenization exactly as the served model tokenizes: node-llama-cpp loads the GGUF's
 * vocabulary only (no weights) and tokenizes with llama.cpp's own code.
 */
import { getLlama, type LlamaModel } from "node-llama-cpp";

export interface VocabularyTokenizer {
  tokenize(text: string): number[];
  detokenize(tokens: number[]): string;
  dispose(): Promise<void>;
}

export async function loadVocabulary(ggufPath: string): Promise<VocabularyTokenizer> {
  const llama = await getLlama({ gpu: false });
  const model: LlamaModel = await llama.loadModel({ modelPath: ggufPath, vocabOnly: true });
  return {
    tokenize: (text) => model.tokenize(text, false).map(Number),
    detokenize: (tokens) => model.detokenize(tokens as never),
    dispose: () => model.dispose(),
  };
}
