/**
 * A target served as the gateway serves it and a draft with a sequence pool beside it: the
 * set-up every SpecTr engine test shares (threads 1, as on this machine's two cores).
 */
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";
import { createDraftPool } from "../src/engine/decoding/spectr-sequences.ts";
import { ServedModel } from "../src/engine/served-model.ts";
import type { SequencePool } from "../src/engine/sequence-pool.ts";

export interface SpectrPairOptions {
  readonly targetPath: string;
  readonly draftPath: string;
  readonly contextSize: number;
  /** Target sequences, spread over `contexts` contexts; the draft gets as many per context. */
  readonly sequences: number;
  readonly contexts?: number;
  readonly batchSize: number;
}

export interface SpectrPair {
  readonly llama: Llama;
  readonly target: ServedModel;
  readonly draftModel: LlamaModel;
  readonly draftPool: SequencePool;
  dispose(): Promise<void>;
}

export async function loadSpectrPair(options: SpectrPairOptions): Promise<SpectrPair> {
  const { contextSize, batchSize } = options;
  const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  const target = await ServedModel.load(llama, { id: "target", path: options.targetPath, threads: 1, contextSize, sequences: options.sequences, batchSize, ...(options.contexts === undefined ? {} : { contexts: options.contexts }) });
  const draftModel = await llama.loadModel({ modelPath: options.draftPath });
  const draftPool = await createDraftPool(draftModel, { sequencesPerContext: target.pool.contexts.map((c) => c.totalSequences), contextSize, threads: 1, batchSize });
  return {
    llama,
    target,
    draftModel,
    draftPool,
    async dispose() {
      await draftPool.dispose();
      await draftModel.dispose();
      await target.dispose();
      await llama.dispose();
    },
  };
}
