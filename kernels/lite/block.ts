import { layerNorm, layerNormBackward } from "./layer-norm.ts";

/**
 * One step of separable LITE applied to a vector x (a row or a column of the similarity matrix):
 * y = LN(ReLU(W2 . LN(ReLU(W1 . x + b1)) + b2)). Weights live in the scorer's flat parameter
 * array at the offsets below; the cache keeps what backward needs for one application.
 */
export interface BlockShape {
  input: number;
  hidden: number;
  output: number;
}

export interface BlockOffsets {
  w1: number;
  b1: number;
  w2: number;
  b2: number;
  end: number;
}

export function blockOffsets(shape: BlockShape, start: number): BlockOffsets {
  const w1 = start;
  const b1 = w1 + shape.hidden * shape.input;
  const w2 = b1 + shape.hidden;
  const b2 = w2 + shape.output * shape.hidden;
  return { w1, b1, w2, b2, end: b2 + shape.output };
}

/** Activations of one block application. */
export class BlockCache {
  readonly preHidden: Float64Array;
  readonly hidden: Float64Array;
  readonly normHidden: Float64Array;
  hiddenInverseSigma = 0;
  readonly preOutput: Float64Array;
  readonly output: Float64Array;
  readonly normOutput: Float64Array;
  outputInverseSigma = 0;

  constructor(shape: BlockShape) {
    this.preHidden = new Float64Array(shape.hidden);
    this.hidden = new Float64Array(shape.hidden);
    this.normHidden = new Float64Array(shape.hidden);
    this.preOutput = new Float64Array(shape.output);
    this.output = new Float64Array(shape.output);
    this.normOutput = new Float64Array(shape.output);
  }
}

/**
 * x is read as x[xOffset + i * xStride]: a row (stride 1) or a column (stride = row length).
 * Entries from `nonZero` on are known to be 0 (padding) and are skipped.
 */
export function blockForward(shape: BlockShape, at: BlockOffsets, params: Float64Array, x: ArrayLike<number>, xOffset: number, xStride: number, cache: BlockCache, nonZero = shape.input): Float64Array {
  const { input, hidden, output } = shape;
  for (let h = 0; h < hidden; h++) {
    let sum = params[at.b1 + h]!;
    const row = at.w1 + h * input;
    for (let i = 0; i < nonZero; i++) sum += params[row + i]! * x[xOffset + i * xStride]!;
    cache.preHidden[h] = sum;
    cache.hidden[h] = sum > 0 ? sum : 0;
  }
  cache.hiddenInverseSigma = layerNorm(cache.hidden, cache.normHidden, hidden);
  for (let o = 0; o < output; o++) {
    let sum = params[at.b2 + o]!;
    const row = at.w2 + o * hidden;
    for (let h = 0; h < hidden; h++) sum += params[row + h]! * cache.normHidden[h]!;
    cache.preOutput[o] = sum;
    cache.output[o] = sum > 0 ? sum : 0;
  }
  cache.outputInverseSigma = layerNorm(cache.output, cache.normOutput, output);
  return cache.normOutput;
}

/** Scratch buffers for a backward pass through one block shape. */
export class BlockScratch {
  readonly dOutput: Float64Array;
  readonly dPreOutput: Float64Array;
  readonly dNormHidden: Float64Array;
  readonly dPreHidden: Float64Array;

  constructor(shape: BlockShape) {
    this.dOutput = new Float64Array(shape.output);
    this.dPreOutput = new Float64Array(shape.output);
    this.dNormHidden = new Float64Array(shape.hidden);
    this.dPreHidden = new Float64Array(shape.hidden);
  }
}

/**
 * Accumulates parameter gradients into grads for dy = d(loss)/d(block output); adds
 * d(loss)/dx into dx (same indexing as x) when dx is given.
 */
export function blockBackward(
  shape: BlockShape, at: BlockOffsets, params: Float64Array, grads: Float64Array,
  x: ArrayLike<number>, xOffset: number, xStride: number, cache: BlockCache, dy: Float64Array, scratch: BlockScratch,
  dx?: Float64Array, nonZero = shape.input,
): void {
  const { input, hidden, output } = shape;
  layerNormBackward(cache.normOutput, dy, cache.outputInverseSigma, scratch.dOutput, output);
  for (let o = 0; o < output; o++) scratch.dPreOutput[o] = cache.preOutput[o]! > 0 ? scratch.dOutput[o]! : 0;
  scratch.dNormHidden.fill(0);
  for (let o = 0; o < output; o++) {
    const g = scratch.dPreOutput[o]!;
    if (g === 0) continue;
    grads[at.b2 + o]! += g;
    const row = at.w2 + o * hidden;
    for (let h = 0; h < hidden; h++) {
      grads[row + h]! += g * cache.normHidden[h]!;
      scratch.dNormHidden[h]! += g * params[row + h]!;
    }
  }
  layerNormBackward(cache.normHidden, scratch.dNormHidden, cache.hiddenInverseSigma, scratch.dPreHidden, hidden);
  for (let h = 0; h < hidden; h++) {
    const g = cache.preHidden[h]! > 0 ? scratch.dPreHidden[h]! : 0;
    if (g === 0) continue;
    grads[at.b1 + h]! += g;
    const row = at.w1 + h * input;
    // x is 0 from nonZero on, so those weights get no gradient; dx still needs every entry.
    for (let i = 0; i < nonZero; i++) grads[row + i]! += g * x[xOffset + i * xStride]!;
    if (dx !== undefined) for (let i = 0; i < input; i++) dx[xOffset + i * xStride]! += g * params[row + i]!;
  }
}
