import { createRandom } from "../random.ts";
import { BlockCache, blockBackward, blockForward, blockOffsets, BlockScratch, type BlockOffsets, type BlockShape } from "./block.ts";
import { maxSim } from "./token-matrix.ts";

/**
 * Separable LITE over a queryLength x documentLength similarity matrix S:
 * a row block maps each row (length documentLength) to rowOutput values, a column block maps
 * each column of that (length queryLength) to columnOutput values, and a linear layer reads the
 * rowOutput x columnOutput result. The score adds alpha x MaxSim(S): with the linear layer
 * initialised to 0 and alpha to 1 the untrained scorer is MaxSim exactly, so training learns a
 * residual on top of ColBERT instead of starting from noise (the earlier attempt's LITE, started
 * from noise, ended far below MaxSim).
 */
export interface LiteShape {
  queryLength: number;
  documentLength: number;
  rowHidden: number;
  rowOutput: number;
  columnHidden: number;
  columnOutput: number;
}

export interface LiteLayout {
  row: BlockOffsets;
  column: BlockOffsets;
  /** Linear read-out weights, rowOutput x columnOutput. */
  readout: number;
  alpha: number;
  size: number;
}

export function rowShape(shape: LiteShape): BlockShape {
  return { input: shape.documentLength, hidden: shape.rowHidden, output: shape.rowOutput };
}

export function columnShape(shape: LiteShape): BlockShape {
  return { input: shape.queryLength, hidden: shape.columnHidden, output: shape.columnOutput };
}

export function liteLayout(shape: LiteShape): LiteLayout {
  const row = blockOffsets(rowShape(shape), 0);
  const column = blockOffsets(columnShape(shape), row.end);
  const readout = column.end;
  const alpha = readout + shape.rowOutput * shape.columnOutput;
  return { row, column, readout, alpha, size: alpha + 1 };
}

/** He-initialised blocks, a zero read-out and alpha = 1: the untrained scorer is MaxSim. */
export function initialLiteParameters(shape: LiteShape, seed: number): Float64Array {
  const layout = liteLayout(shape);
  const params = new Float64Array(layout.size);
  const random = createRandom(seed);
  const fill = (start: number, count: number, fanIn: number) => {
    const scale = Math.sqrt(2 / fanIn);
    for (let i = 0; i < count; i++) params[start + i] = random.normal() * scale;
  };
  const r = rowShape(shape);
  const c = columnShape(shape);
  fill(layout.row.w1, r.hidden * r.input, r.input);
  fill(layout.row.w2, r.output * r.hidden, r.hidden);
  fill(layout.column.w1, c.hidden * c.input, c.input);
  fill(layout.column.w2, c.output * c.hidden, c.hidden);
  params[layout.alpha] = 1;
  return params;
}

/** Forward and backward passes of one scorer; holds the activations of the last forward. */
export class LiteScorer {
  readonly layout: LiteLayout;
  private readonly row: BlockShape;
  private readonly column: BlockShape;
  private readonly rowCaches: BlockCache[];
  private readonly columnCaches: BlockCache[];
  private readonly rowScratch: BlockScratch;
  private readonly columnScratch: BlockScratch;
  /** Row step output, queryLength x rowOutput. */
  private readonly rowOut: Float64Array;
  private readonly dRowOut: Float64Array;
  private readonly dColumn: Float64Array;
  private readonly dRow: Float64Array;
  private lastMaxSim = 0;
  private nonZeroColumns = 0;
  private lastSimilarity: Float64Array | undefined;

  constructor(readonly shape: LiteShape, readonly params: Float64Array) {
    this.layout = liteLayout(shape);
    if (params.length !== this.layout.size) throw new Error(`LITE parameters: expected ${this.layout.size}, got ${params.length}`);
    this.row = rowShape(shape);
    this.column = columnShape(shape);
    this.rowCaches = Array.from({ length: shape.queryLength }, () => new BlockCache(this.row));
    this.columnCaches = Array.from({ length: shape.rowOutput }, () => new BlockCache(this.column));
    this.rowScratch = new BlockScratch(this.row);
    this.columnScratch = new BlockScratch(this.column);
    this.rowOut = new Float64Array(shape.queryLength * shape.rowOutput);
    this.dRowOut = new Float64Array(shape.queryLength * shape.rowOutput);
    this.dColumn = new Float64Array(shape.columnOutput);
    this.dRow = new Float64Array(shape.rowOutput);
  }

  /** The MaxSim term of the last forward. */
  get maxSim(): number {
    return this.lastMaxSim;
  }

  /** Score of S (queryLength x documentLength, padded with 0); the token counts bound MaxSim to real tokens. */
  forward(similarity: Float64Array, queryTokens: number, documentTokens: number): number {
    const { queryLength, documentLength, rowOutput, columnOutput } = this.shape;
    const p = this.params;
    // S is 0 past the document's real tokens: the row step reads only those columns; and rows
    // past the query's real tokens are all 0, so it reads none of theirs (only the biases count).
    this.nonZeroColumns = Math.min(documentTokens, documentLength);
    const realRows = Math.min(queryTokens, queryLength);
    for (let i = 0; i < queryLength; i++) {
      const out = blockForward(this.row, this.layout.row, p, similarity, i * documentLength, 1, this.rowCaches[i]!, i < realRows ? this.nonZeroColumns : 0);
      this.rowOut.set(out, i * rowOutput);
    }
    let residual = 0;
    for (let k = 0; k < rowOutput; k++) {
      const out = blockForward(this.column, this.layout.column, p, this.rowOut, k, rowOutput, this.columnCaches[k]!);
      const w = this.layout.readout + k * columnOutput;
      for (let m = 0; m < columnOutput; m++) residual += p[w + m]! * out[m]!;
    }
    this.lastSimilarity = similarity;
    this.lastMaxSim = maxSim(similarity, Math.min(queryTokens, queryLength), Math.min(documentTokens, documentLength), documentLength);
    return p[this.layout.alpha]! * this.lastMaxSim + residual;
  }

  /** Adds d(loss)/d(params) for d(loss)/d(score) = g of the last forward into grads. */
  backward(g: number, grads: Float64Array): void {
    const similarity = this.lastSimilarity;
    if (similarity === undefined) throw new Error("backward before forward");
    const { queryLength, documentLength, rowOutput, columnOutput } = this.shape;
    const p = this.params;
    grads[this.layout.alpha]! += g * this.lastMaxSim;
    this.dRowOut.fill(0);
    for (let k = 0; k < rowOutput; k++) {
      const cache = this.columnCaches[k]!;
      const w = this.layout.readout + k * columnOutput;
      for (let m = 0; m < columnOutput; m++) {
        grads[w + m]! += g * cache.normOutput[m]!;
        this.dColumn[m] = g * p[w + m]!;
      }
      blockBackward(this.column, this.layout.column, p, grads, this.rowOut, k, rowOutput, cache, this.dColumn, this.columnScratch, this.dRowOut);
    }
    for (let i = 0; i < queryLength; i++) {
      for (let k = 0; k < rowOutput; k++) this.dRow[k] = this.dRowOut[i * rowOutput + k]!;
      blockBackward(this.row, this.layout.row, p, grads, similarity, i * documentLength, 1, this.rowCaches[i]!, this.dRow, this.rowScratch, undefined, this.nonZeroColumns);
    }
  }
}
