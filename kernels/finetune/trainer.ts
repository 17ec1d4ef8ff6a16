/**
 * Supervised LoRA fine-tuning of a llama model loaded from its GGUF (the served target's own
 * weights): LoRA on the chosen projections, loss on reply tokens only, LoRA-RITE or Adam,
 * a held-out validation split with early stopping on its loss, reproducible from the seed.
 * Between steps it yields to the event loop, reports progress and honours an abort signal,
 * so a cancel takes effect within one optimizer step.
 */
import { tf } from "../tfjs/backend.ts";
import { createRandom, type Random } from "../random.ts";
import type { LoraAdapter } from "../lora/types.ts";
import type { LlamaConfig } from "../transformer/config.ts";
import { forward, type ProjectionDelta } from "../transformer/forward.ts";
import type { LlamaWeights } from "../transformer/weights.ts";
import { createOptimizer, tfjsLinalg, type OptimizerName } from "../rite/index.ts";
import type { TokenizedExample } from "./encode.ts";
import { LoraState, type LoraShape } from "./lora-state.ts";
import { correctReplyTokens, makeBatch, replyCrossEntropy, type Batch } from "./loss.ts";

export interface FinetuneOptions {
  lora: LoraShape;
  /** Dropout on the LoRA branch's input, as PEFT's lora_dropout. */
  dropout: number;
  optimizer: OptimizerName;
  /** Peak learning rate; it decays linearly to a tenth of it over the run. */
  learningRate: number;
  epochs: number;
  batchSize: number;
  seed: number;
  /** Held out of the training examples when no validation examples are given. */
  validationFraction: number;
  /** Evaluate the validation loss every this many steps (and after the last). */
  evalEvery: number;
  /** Stop after this many evaluations without a new best; 0 never stops early. */
  patience: number;
  /** Cap on optimizer steps (tests and benchmarks). */
  maxSteps?: number;
}

export interface Progress {
  step: number;
  totalSteps: number;
  epoch: number;
  trainLoss: number;
  /** Share of the step's reply tokens the model predicted (argmax), before the update. */
  trainAccuracy: number;
  validationLoss?: number;
  /** Share of the validation set's reply tokens predicted, at evaluations. */
  validationAccuracy?: number;
  learningRate: number;
  /** Tokens (prompt and reply, no padding) processed per second of training. */
  tokensPerSecond: number;
  etaSeconds: number;
}

export interface FinetuneHooks {
  onProgress?(progress: Progress): void | Promise<void>;
  signal?: AbortSignal;
}

export interface FinetuneResult {
  /** The adapter at its best validation loss (the last one without a validation set). */
  adapter: LoraAdapter;
  /** The step `adapter` is from (0: no step beat the base model on the validation set). */
  adapterStep: number;
  /** The adapters at the ends of the last EPOCH_CHECKPOINTS completed epochs, oldest first. */
  epochCheckpoints: { step: number; adapter: LoraAdapter }[];
  steps: number;
  stoppedEarly: boolean;
  bestValidationLoss?: number;
  /** Validation loss before any step: the base model's. */
  baseValidationLoss?: number;
  history: Progress[];
  trainTokens: number;
  seconds: number;
}

/** Epoch-end adapters a run keeps, as OpenAI keeps its last three epochs' checkpoints. */
export const EPOCH_CHECKPOINTS = 3;

export class TrainingCancelled extends Error {
  constructor() {
    super("training was cancelled");
    this.name = "TrainingCancelled";
  }
}

export function splitValidation<T>(examples: readonly T[], fraction: number, random: Random): { train: T[]; validation: T[] } {
  const order = shuffled(examples.length, random);
  const count = examples.length < 2 ? 0 : Math.min(examples.length - 1, Math.max(1, Math.round(examples.length * fraction)));
  return { validation: order.slice(0, count).map((i) => examples[i]!), train: order.slice(count).map((i) => examples[i]!) };
}

function shuffled(n: number, random: Random): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export async function finetune(
  config: LlamaConfig,
  weights: LlamaWeights,
  examples: readonly TokenizedExample[],
  validationExamples: readonly TokenizedExample[] | undefined,
  options: FinetuneOptions,
  name: string,
  hooks: FinetuneHooks = {},
): Promise<FinetuneResult> {
  const random = createRandom(options.seed);
  const { train, validation } = validationExamples?.length ? { train: [...examples], validation: [...validationExamples] } : splitValidation(examples, options.validationFraction, random);
  if (train.length === 0) throw new Error("no training examples");
  const stepsPerEpoch = Math.ceil(train.length / options.batchSize);
  const totalSteps = Math.min(options.maxSteps ?? Infinity, options.epochs * stepsPerEpoch);
  const state = new LoraState(config, options.lora, options.seed);
  const optimizer = createOptimizer(options.optimizer, tfjsLinalg);
  const validationBatches = chunks(validation, options.batchSize).map(makeBatch);
  const evaluate = (): Evaluation => evaluateOn(config, weights, state, validationBatches);
  const history: Progress[] = [];
  const started = performance.now();
  let trainSeconds = 0;
  let trainTokens = 0;
  let best = validation.length ? evaluate().loss : undefined;
  const baseValidationLoss = best;
  let bestAdapter = state.snapshot(name);
  let bestStep = 0;
  let sinceBest = 0;
  let stoppedEarly = false;
  let step = 0;
  const epochCheckpoints: FinetuneResult["epochCheckpoints"] = [];
  try {
    for (let epoch = 1; epoch <= options.epochs && step < totalSteps && !stoppedEarly; epoch++) {
      const batches = chunks(shuffled(train.length, random).map((i) => train[i]!), options.batchSize);
      for (const [index, batchExamples] of batches.entries()) {
        if (step >= totalSteps) break;
        if (hooks.signal?.aborted) throw new TrainingCancelled();
        const learningRate = options.learningRate * (1 - (0.9 * step) / Math.max(1, totalSteps));
        const stepStart = performance.now();
        const batch = makeBatch(batchExamples);
        const { loss: trainLoss, accuracy: trainAccuracy } = trainStep(config, weights, state, optimizer, batch, learningRate, options.dropout, random);
        trainSeconds += (performance.now() - stepStart) / 1000;
        trainTokens += batchExamples.reduce((sum, example) => sum + example.tokens.length, 0);
        step++;
        const progress: Progress = {
          step,
          totalSteps,
          epoch,
          trainLoss,
          trainAccuracy,
          learningRate,
          tokensPerSecond: trainTokens / trainSeconds,
          etaSeconds: (trainSeconds / step) * (totalSteps - step),
        };
        if (validation.length && (step % options.evalEvery === 0 || step === totalSteps)) {
          const evaluation = evaluate();
          progress.validationLoss = evaluation.loss;
          progress.validationAccuracy = evaluation.accuracy;
          if (progress.validationLoss < best!) {
            best = progress.validationLoss;
            bestAdapter = state.snapshot(name);
            bestStep = step;
            sinceBest = 0;
          } else if (options.patience > 0 && ++sinceBest >= options.patience) {
            stoppedEarly = true;
          }
        }
        history.push(progress);
        if (index === batches.length - 1) {
          epochCheckpoints.push({ step, adapter: state.snapshot(name) });
          if (epochCheckpoints.length > EPOCH_CHECKPOINTS) epochCheckpoints.shift();
        }
        await hooks.onProgress?.(progress);
        // Lets a cancel, a heartbeat or an HTTP request in this process run between steps.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (stoppedEarly) break;
      }
    }
    if (hooks.signal?.aborted) throw new TrainingCancelled();
    const adapter = validation.length ? bestAdapter : state.snapshot(name);
    return { adapter, adapterStep: validation.length ? bestStep : step, epochCheckpoints, steps: step, stoppedEarly, bestValidationLoss: best, baseValidationLoss, history, trainTokens, seconds: (performance.now() - started) / 1000 };
  } finally {
    optimizer.dispose();
    state.dispose();
  }
}

function trainStep(
  config: LlamaConfig,
  weights: LlamaWeights,
  state: LoraState,
  optimizer: ReturnType<typeof createOptimizer<tf.Tensor2D>>,
  batch: Batch,
  learningRate: number,
  dropout: number,
  random: Random,
): Evaluation {
  const delta = state.delta(dropout, random);
  let correct = 0;
  // The accuracy is read off the same forward pass; argMax is off the loss's path, so no gradient flows through it.
  const { value, grads } = tf.tidy(() => tf.variableGrads(() => batchLoss(config, weights, batch, delta, (count) => (correct = count)), state.variables));
  const loss = value.dataSync()[0]!;
  const pairGrads = state.pairGrads(grads);
  state.assign(optimizer.step(state.factors, pairGrads, learningRate));
  tf.dispose([value, ...Object.values(grads)]);
  return { loss, accuracy: correct / Math.max(1, batch.replyTokens) };
}

interface Evaluation {
  /** Mean loss per reply token. */
  loss: number;
  /** Share of reply tokens predicted (argmax). */
  accuracy: number;
}

function evaluateOn(config: LlamaConfig, weights: LlamaWeights, state: LoraState, batches: readonly Batch[]): Evaluation {
  let sum = 0;
  let correct = 0;
  let tokens = 0;
  for (const batch of batches) {
    sum += tf.tidy(() => batchLoss(config, weights, batch, state.delta(), (count) => (correct += count)).dataSync()[0]!) * batch.replyTokens;
    tokens += batch.replyTokens;
  }
  return { loss: sum / Math.max(1, tokens), accuracy: correct / Math.max(1, tokens) };
}

function batchLoss(config: LlamaConfig, weights: LlamaWeights, batch: Batch, delta: ProjectionDelta, onCorrect: (count: number) => void): tf.Scalar {
  const inputs = tf.tensor2d(batch.inputs, [batch.batchSize, batch.length], "int32");
  const targets = tf.tensor2d(batch.targets, [batch.batchSize, batch.length], "int32");
  const mask = tf.tensor2d(batch.weights, [batch.batchSize, batch.length]);
  const { logits } = forward(config, weights, inputs, { projectionDelta: delta });
  onCorrect(correctReplyTokens(logits, targets, mask));
  return replyCrossEntropy(logits, targets, mask);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
