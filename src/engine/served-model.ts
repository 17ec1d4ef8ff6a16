import type { Llama, LlamaContextOptions, LlamaModel, Token } from "node-llama-cpp";
import { ChatRenderer } from "./chat-template.ts";
import { GrammarCache } from "./grammar.ts";
import { loadedLoraCount, releaseLora } from "./lora-release.ts";
import { SequencePool } from "./sequence-pool.ts";
import { TokenBytes } from "./text/token-bytes.ts";
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
  private bytes: TokenBytes | undefined;
  private chat: ChatRenderer | undefined;
  private compiledGrammars: GrammarCache | undefined;

  private constructor(
    readonly id: string,
    readonly path: string,
    readonly model: LlamaModel,
    readonly pool: SequencePool,
    private readonly options: ServedModelOptions,
    /** The LoRA file this model applies on its base's weights (undefined: it owns its weights). */
    private readonly adapterPath: string | undefined,
  ) {}

  static async load(llama: Llama, options: ServedModelOptions): Promise<ServedModel> {
    const model = await llama.loadModel({ modelPath: options.path });
    return new ServedModel(options.id, options.path, model, await createPool(model, options), options, undefined);
  }

  /**
   * A LoRA adapter served on this model's weights: contexts of its own (no KV state shared with
   * the base or another adapter), the same shape as the base's, and speculation alongside the
   * base's when it has one. Disposing it frees its contexts and the adapter's weights, never
   * the base's.
   */
  async withAdapter(adapter: { id: string; filePath: string; scale: number }): Promise<ServedModel> {
    const options: ServedModelOptions = {
      ...this.options,
      id: adapter.id,
      path: adapter.filePath,
      contextSize: this.contextSize,
      sequences: this.pool.size,
      contexts: this.pool.contexts.length,
      lora: { adapters: [{ filePath: adapter.filePath, scale: adapter.scale }] },
    };
    let served: ServedModel | undefined;
    try {
      served = new ServedModel(adapter.id, adapter.filePath, this.model, await createPool(this.model, options), options, adapter.filePath);
      if (this.draftPairing !== undefined) served.pairWithDraft(await this.draftPairing.alongside(served));
      return served;
    } catch (error) {
      if (served !== undefined) await served.dispose();
      else await releaseLora(this.model, adapter.filePath);
      throw error;
    }
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
    return this.options.chatTemplate ?? this.model.fileInfo.metadata.tokenizer?.chat_template ?? undefined;
  }

  /** This model's chat renderer, built on first use and kept (one Jinja wrapper per model). */
  get chatRenderer(): ChatRenderer {
    this.chat ??= new ChatRenderer(this.model, this.chatTemplate, (text) => this.tokenize(text));
    return this.chat;
  }

  /** Grammars compiled for this model's vocabulary (response_format, tools, `grammar`). */
  get grammars(): GrammarCache {
    this.compiledGrammars ??= new GrammarCache(this.model);
    return this.compiledGrammars;
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

  /** The exact bytes a token stands for (its text alone may be U+FFFD: part of a character). */
  tokenBytes(token: number): Uint8Array {
    this.bytes ??= new TokenBytes({
      model: this.model.fileInfo.metadata.tokenizer?.ggml?.model,
      tokens: this.model.fileInfo.metadata.tokenizer?.ggml?.tokens,
      types: this.model.fileInfo.metadata.tokenizer?.ggml?.token_type as readonly number[] | undefined,
      detokenize: (id) => this.detokenize([id]),
    });
    return this.bytes.of(token);
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

  /** LoRA adapters whose weights are loaded on this model's weights (its own and its adapter versions'). */
  get loadedAdapterWeights(): number {
    return loadedLoraCount(this.model);
  }

  /** What a document starts with for this model: its BOS token, else its EOS (a separator), else token 0. */
  documentStart(): number[] {
    const start = this.model.tokens.bos ?? this.model.tokens.eos;
    return [start ?? 0];
  }

  async dispose(): Promise<void> {
    await this.draftPairing?.dispose();
    await this.pool.dispose();
    if (this.adapterPath === undefined) await this.model.dispose();
    else await releaseLora(this.model, this.adapterPath);
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
