/** Next-token training of a tfjs llama model: Adam, linear warm-up, cosine decay, global-norm clipping. */
import { tf } from "../tfjs/backend.ts";
import { createRandom } from "../random.ts";
import type { LlamaConfig } from "./config.ts";
import { crossEntropy, forward } from "./forward.ts";
import type { LayerWeights, LlamaWeights } from "./weights.ts";

export interface TrainOptions {
  steps: number;
  batchSize: number;
  sequenceLength: number;
  learningRate: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of the peak. */
  minLearningRateRatio: number;
  clipNorm: number;
  seed: number;
  /**
   * Learning-rate multiplier per weight, by its name in the variable map (e.g.
   * "blk.3.attn_q"): lets freshly grown layers learn faster than trained ones.
   */
  learningRateScale?: (name: string) => number;
  onStep?: (step: number, loss: number, learningRate: number) => void;
}

export interface TrainResult {
  weights: LlamaWeights;
  tokensSeen: number;
  finalLoss: number;
}

export function learningRateAt(step: number, options: TrainOptions): number {
  if (step < options.warmupSteps) return (options.learningRate * (step + 1)) / options.warmupSteps;
  const progress = (step - options.warmupSteps) / Math.max(1, options.steps - options.warmupSteps);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress)));
  return options.learningRate * (options.minLearningRateRatio + (1 - options.minLearningRateRatio) * cosine);
}

/** Wraps every weight in a trainable variable (same structure, new tensors). */
export function toVariables(weights: LlamaWeights, prefix: string): LlamaWeights {
  const variable = <T extends tf.Tensor>(t: T, name: string): T => tf.variable(t, true, `${prefix}/${name}`) as unknown as T;
  return {
    token_embd: variable(weights.token_embd, "token_embd"),
    layers: weights.layers.map((layer, i) =>
      Object.fromEntries(Object.entries(layer).map(([k, t]) => [k, variable(t, `blk.${i}.${k}`)])) as unknown as LayerWeights,
    ),
    output_norm: variable(weights.output_norm, "output_norm"),
    output: variable(weights.output, "output"),
  };
}

/** Random windows of sequenceLength + 1 tokens from the stream: inputs and next-token targets. */
export function sampleBatch(stream: Int32Array, batchSize: number, sequenceLength: number, random: { int(n: number): number }): { inputs: Int32Array; targets: Int32Array } {
  const inputs = new Int32Array(batchSize * sequenceLength);
  const targets = new Int32Array(batchSize * sequenceLength);
  for (let b = 0; b < batchSize; b++) {
    const start = random.int(stream.length - sequenceLength - 1);
    inputs.set(stream.subarray(start, start + sequenceLength), b * sequenceLength);
    targets.set(stream.subarray(start + 1, start + sequenceLength + 1), b * sequenceLength);
  }
  return { inputs, targets };
}

export function train(config: LlamaConfig, initial: LlamaWeights, stream: Int32Array, options: TrainOptions, name: string): TrainResult {
  const weights = toVariables(initial, name);
  const variables = tf.engine().registeredVariables;
  const trainable = Object.values(variables).filter((v) => v.name.startsWith(`${name}/`));
  // One Adam per learning-rate group: tfjs optimizers have a single learning rate.
  const scaleOf = (variableName: string): number => options.learningRateScale?.(variableName.slice(name.length + 1)) ?? 1;
  const groups = new Map<number, tf.AdamOptimizer>();
  for (const v of trainable) {
    const scale = scaleOf(v.name);
    if (!groups.has(scale)) groups.set(scale, tf.train.adam(options.learningRate * scale, 0.9, 0.95, 1e-8));
  }
  const random = createRandom(options.seed);
  let finalLoss = NaN;
  for (let step = 0; step < options.steps; step++) {
    const learningRate = learningRateAt(step, options);
    for (const [scale, optimizer] of groups) (optimizer as unknown as { learningRate: number }).learningRate = learningRate * scale;
    const { inputs, targets } = sampleBatch(stream, options.batchSize, options.sequenceLength, random);
    const loss = tf.tidy(() => {
      const x = tf.tensor2d(inputs, [options.batchSize, options.sequenceLength], "int32");
      const y = tf.tensor2d(targets, [options.batchSize, options.sequenceLength], "int32");
      const { value, grads } = tf.variableGrads(() => crossEntropy(forward(config, weights, x).logits, y), trainable);
      const norm = tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))).dataSync()[0]!;
      const scale = norm > options.clipNorm ? options.clipNorm / norm : 1;
      for (const [groupScale, optimizer] of groups) {
        const members = Object.entries(grads).filter(([variableName]) => scaleOf(variableName) === groupScale);
        optimizer.applyGradients(members.map(([variableName, g]) => ({ name: variableName, tensor: tf.mul(g, scale) })));
      }
      return value.dataSync()[0]!;
    });
    finalLoss = loss;
    options.onStep?.(step, loss, learningRate);
  }
  for (const optimizer of groups.values()) optimizer.dispose();
  return { weights, tokensSeen: options.steps * options.batchSize * options.sequenceLength, finalLoss };
}
