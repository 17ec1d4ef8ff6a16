import { createRandom } from "../random.ts";
import { Adam } from "./adam.ts";
import { reciprocalRankAt, ndcgAt } from "./ranking-metrics.ts";
import { initialLiteParameters, LiteScorer, type LiteShape } from "./scorer.ts";
import { similarityMatrix, type TokenMatrix } from "./token-matrix.ts";

/** One query with its candidates; candidate 0 is the relevant one. */
export interface RankingExample {
  query: TokenMatrix;
  candidates: TokenMatrix[];
}

export interface TrainOptions {
  shape: LiteShape;
  learningRate: number;
  epochs: number;
  /** Queries per Adam step. */
  batchSize: number;
  seed: number;
  /** Gradient L2 norm clip (per step). */
  clip: number;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  validationMrr: number;
}

export interface TrainResult {
  /** The parameters of the epoch with the best validation MRR@10 (epoch 0: the untrained MaxSim). */
  params: Float64Array;
  bestEpoch: number;
  history: EpochRecord[];
}

/**
 * Softmax cross-entropy over each example's candidates (one-hot on candidate 0), Adam,
 * shuffled by the seed; keeps the epoch that ranks the validation examples best.
 */
export function trainLite(train: readonly RankingExample[], validation: readonly RankingExample[], options: TrainOptions): TrainResult {
  const { shape } = options;
  const params = initialLiteParameters(shape, options.seed);
  const grads = new Float64Array(params.length);
  const adam = new Adam(params.length, options.learningRate);
  const random = createRandom(options.seed + 1);
  const maxCandidates = Math.max(...train.map((example) => example.candidates.length));
  const scorers = Array.from({ length: maxCandidates }, () => new LiteScorer(shape, params));
  const buffers = Array.from({ length: maxCandidates }, () => new Float64Array(shape.queryLength * shape.documentLength));
  const history: EpochRecord[] = [{ epoch: 0, trainLoss: NaN, validationMrr: evaluate(scorers[0]!, validation).mrr }];
  let best = { epoch: 0, mrr: history[0]!.validationMrr, params: params.slice() };
  const order = train.map((_, i) => i);
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    shuffle(order, random);
    let lossSum = 0;
    for (let start = 0; start < order.length; start += options.batchSize) {
      grads.fill(0);
      const batch = order.slice(start, start + options.batchSize);
      for (const index of batch) lossSum += accumulate(train[index]!, scorers, buffers, grads, shape, 1 / batch.length);
      clipNorm(grads, options.clip);
      adam.update(params, grads);
    }
    const validationMrr = evaluate(scorers[0]!, validation).mrr;
    history.push({ epoch, trainLoss: lossSum / order.length, validationMrr });
    if (validationMrr > best.mrr) best = { epoch, mrr: validationMrr, params: params.slice() };
  }
  return { params: best.params, bestEpoch: best.epoch, history };
}

/** Loss of one example; adds weight x its gradient into grads. */
function accumulate(example: RankingExample, scorers: LiteScorer[], buffers: Float64Array[], grads: Float64Array, shape: LiteShape, weight: number): number {
  const n = example.candidates.length;
  const scores = example.candidates.map((candidate, c) => {
    const similarity = similarityMatrix(example.query, candidate, shape.queryLength, shape.documentLength, buffers[c]!);
    return scorers[c]!.forward(similarity, example.query.length, candidate.length);
  });
  const top = Math.max(...scores);
  const exps = scores.map((score) => Math.exp(score - top));
  const total = exps.reduce((a, b) => a + b, 0);
  for (let c = 0; c < n; c++) scorers[c]!.backward(weight * (exps[c]! / total - (c === 0 ? 1 : 0)), grads);
  return -Math.log(exps[0]! / total);
}

export interface RankingQuality {
  mrr: number;
  ndcg: number;
}

/** MRR@10 and nDCG@10 of a scorer over examples (candidate 0 relevant). */
export function evaluate(scorer: LiteScorer, examples: readonly RankingExample[]): RankingQuality {
  const { queryLength, documentLength } = scorer.shape;
  const buffer = new Float64Array(queryLength * documentLength);
  return meanQuality(examples.map((example) => example.candidates.map((candidate) => scorer.forward(similarityMatrix(example.query, candidate, queryLength, documentLength, buffer), example.query.length, candidate.length))));
}

/** Mean MRR@10 and nDCG@10 over per-query candidate scores (candidate 0 relevant). */
export function meanQuality(scoresPerQuery: readonly (readonly number[])[]): RankingQuality {
  let mrr = 0;
  let ndcg = 0;
  for (const scores of scoresPerQuery) {
    mrr += reciprocalRankAt(scores, 0);
    ndcg += ndcgAt(scores, 0);
  }
  const n = Math.max(1, scoresPerQuery.length);
  return { mrr: mrr / n, ndcg: ndcg / n };
}

function clipNorm(grads: Float64Array, limit: number): void {
  let norm = 0;
  for (const g of grads) norm += g * g;
  norm = Math.sqrt(norm);
  if (norm > limit) for (let i = 0; i < grads.length; i++) grads[i]! *= limit / norm;
}

function shuffle(order: number[], random: { int(n: number): number }): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
}
