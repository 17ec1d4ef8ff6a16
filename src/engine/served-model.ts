import type { Llama, LlamaContextOptions, LlamaModel, Token } from "node-llama-cpp";
import { SequencePool } from "./sequence-pool.ts";
import type { Speculation } from "./speculation.ts";

/** Without CONTEXT_SIZE, long-context models get this many tokens per sequence, not their full (costly) training context. */
const defaultContextCap = 4096;

export interface ServedModelOptions extends ContextOptions {
  id: string;
  path: string;
}

/** How a served model's contexts are made; `lora` applies an adapter to every one of them. */
export interface ContextOptions {
  threads: number;
  /** 0: the model's training context, at most defaultContextCap. */
  contextSize: number;
  sequences: number;
  batchSize: number;
  /** Contexts the sequences are spread over (default 1); each decodes in parallel with the others. */
  contexts?: number;
  /** Overrides the GGUF's tokenizer.chat_template. */
  chatTemplate?: string;
  lora?: LlamaContextOptions["lora"];
}

/**
 * One servable model: weights, the contexts requests share, and their sequences. A base model
 * owns its weights; a LoRA adapter version is a ServedModel on a base's weights with contexts
 * of its own (so no KV state is ever shared with the base or another adapter), and disposing
 * it leaves the weights alone.
 */
export class ServedModel {
  readonly created = Math.floor(Date.now() / 1000);
  private draftPairing: Speculation | undefined;

  private constructor(
    readonly id: string,
    readonly path: string,
    readonly model: LlamaModel,
    readonly pool: SequencePool,
    private readonly chatTemplateOverride: string | undefined,
    private readonly ownsWeights: boolean,
  ) {}

  static async load(llama: Llama, options: ServedModelOptions): Promise<ServedModel> {
    const model = await llama.loadModel({ modelPath: options.path });
    return new ServedModel(options.id, options.path, model, await createPool(model, options), options.chatTemplate, true);
  }

  /** A model served on weights another ServedModel owns (a LoRA adapter on its base). */
  static async onWeights(model: LlamaModel, options: ServedModelOptions): Promise<ServedModel> {
    return new ServedModel(options.id, options.path, model, await createPool(model, options), options.chatTemplate, false);
  }

  /** Speculative decoding with a draft model, when one is paired with this model. */
  get speculation(): Speculation | undefined {
    return this.draftPairing;
  }

  pairWithDraft(speculation: Speculation): void {
    this.draftPairing = speculation;
  }

  /** Tokens one sequence can hold: prompt plus completion. */
  get contextSize(): number {
    return this.pool.contextSize;
  }

  get chatTemplate(): string | undefined {
    return this.chatTemplateOverride ?? this.model.fileInfo.metadata.tokenizer?.chat_template ?? undefined;
  }

  get vocabularySize(): number {
    return this.model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
  }

  /**
   * The prompt's tokens, after the BOS token when the model asks for one; an empty prompt is the
   * BOS token alone (generation needs something to condition on).
   */
  tokenize(text: string): number[] {
    const tokens = this.model.tokenize(text, false);
    const bos = this.model.tokens.bos;
    if (bos === null) return tokens;
    return this.model.tokens.shouldPrependBosToken || tokens.length === 0 ? [bos, ...tokens] : tokens;
  }

  detokenize(tokens: readonly number[], lastTokens?: readonly number[]): string {
    return this.model.detokenize(tokens as readonly Token[], false, lastTokens as readonly Token[] | undefined);
  }

  isVocabularyToken(token: number): boolean {
    return Number.isInteger(token) && token >= 0 && token < this.vocabularySize;
  }

  isEndOfGeneration(token: number): boolean {
    return this.model.isEogToken(token as Token);
  }

  async dispose(): Promise<void> {
    await this.draftPairing?.dispose();
    await this.pool.dispose();
    if (this.ownsWeights) await this.model.dispose();
  }
}

async function createPool(model: LlamaModel, options: ContextOptions): Promise<SequencePool> {
  const contextSize = options.contextSize > 0 ? options.contextSize : Math.min(model.trainContextSize, defaultContextCap);
  const contextCount = Math.max(1, Math.min(options.contexts ?? 1, options.sequences));
  const contexts = await Promise.all(sequencesPerContext(options.sequences, contextCount).map((sequences) => model.createContext({
    contextSize,
    sequences,
    threads: options.threads,
    batchSize: Math.min(options.batchSize, contextSize * sequences),
    ...(options.lora === undefined ? {} : { lora: options.lora }),
  })));
  return new SequencePool(...contexts);
}

/** `total` sequences over `contexts` contexts, as evenly as possible. */
function sequencesPerContext(total: number, contexts: number): number[] {
  return Array.from({ length: contexts }, (_, i) => Math.floor(total / contexts) + (i < total % contexts ? 1 : 0));
}
