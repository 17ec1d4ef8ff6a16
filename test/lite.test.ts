import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRandom } from "../kernels/random.ts";
import { Bm25Index, smallCollectionScores } from "../kernels/lite/bm25.ts";
import { layerNorm } from "../kernels/lite/layer-norm.ts";
import { ndcgAt, rankOf, reciprocalRankAt } from "../kernels/lite/ranking-metrics.ts";
import { initialLiteParameters, liteLayout, LiteScorer, type LiteShape } from "../kernels/lite/scorer.ts";
import { dot, maxSim, pooledVector, similarityMatrix, type TokenMatrix } from "../kernels/lite/token-matrix.ts";
import { evaluate, trainLite, type RankingExample } from "../kernels/lite/train.ts";
import { WordVectors } from "../kernels/lite/word-vectors.ts";
import { roundToHalf } from "../kernels/gguf/half.ts";
import { packTokens, unpackTokens } from "../kernels/lite/stored-tokens.ts";
import { words } from "../kernels/lite/words.ts";

const tiny: LiteShape = { queryLength: 3, documentLength: 5, rowHidden: 4, rowOutput: 3, columnHidden: 4, columnOutput: 3 };

function randomTokens(random: ReturnType<typeof createRandom>, length: number, dimensions: number): TokenMatrix {
  const data = new Float32Array(length * dimensions);
  for (let i = 0; i < length; i++) {
    let norm = 0;
    for (let t = 0; t < dimensions; t++) norm += (data[i * dimensions + t] = random.normal()) ** 2;
    for (let t = 0; t < dimensions; t++) data[i * dimensions + t]! /= Math.sqrt(norm);
  }
  return { length, dimensions, data };
}

describe("LITE scorer", () => {
  it("is MaxSim before training (zero read-out, alpha 1)", () => {
    const random = createRandom(1);
    const scorer = new LiteScorer(tiny, initialLiteParameters(tiny, 7));
    for (let trial = 0; trial < 5; trial++) {
      const q = randomTokens(random, 2, 6);
      const d = randomTokens(random, 4, 6);
      const s = similarityMatrix(q, d, tiny.queryLength, tiny.documentLength, new Float64Array(15));
      assert.equal(scorer.forward(s, q.length, d.length), maxSim(s, 2, 4, tiny.documentLength));
    }
  });

  it("has analytic gradients equal to central differences on a tiny case", () => {
    const random = createRandom(3);
    // Every parameter random (biases too): no activation sits exactly on a ReLU kink, and the
    // non-zero read-out makes every block's gradient count.
    const params = initialLiteParameters(tiny, 11).map(() => random.normal() * 0.7);
    const s = new Float64Array(15).map(() => random.normal() * 0.5);
    const scorer = new LiteScorer(tiny, params);
    scorer.forward(s, 3, 5);
    const grads = new Float64Array(params.length);
    scorer.backward(1, grads);
    const h = 1e-6;
    let worst = 0;
    for (let i = 0; i < params.length; i++) {
      const saved = params[i]!;
      params[i] = saved + h;
      const up = scorer.forward(s, 3, 5);
      params[i] = saved - h;
      const down = scorer.forward(s, 3, 5);
      params[i] = saved;
      const numeric = (up - down) / (2 * h);
      worst = Math.max(worst, Math.abs(numeric - grads[i]!) / Math.max(1, Math.abs(numeric)));
    }
    assert.ok(worst < 1e-5, `largest gradient error ${worst}`);
  });

  it("skips the padded columns of S without changing the score or the gradients", () => {
    const random = createRandom(8);
    const params = initialLiteParameters(tiny, 4).map(() => random.normal() * 0.7);
    const s = new Float64Array(15).map((_, k) => (k % 5 < 3 ? random.normal() : 0));
    const scorer = new LiteScorer(tiny, params);
    const layout = liteLayout(tiny);
    const run = (documentTokens: number) => {
      const score = scorer.forward(s, 3, documentTokens) - params[layout.alpha]! * scorer.maxSim;
      const grads = new Float64Array(params.length);
      scorer.backward(1, grads);
      grads[layout.alpha] = 0;
      return { score, grads };
    };
    const skipped = run(3);
    const full = run(5);
    assert.ok(Math.abs(skipped.score - full.score) < 1e-12);
    skipped.grads.forEach((g, i) => assert.ok(Math.abs(g - full.grads[i]!) < 1e-12, `parameter ${i}`));
  });

  it("skips the padded rows of S (past the query's tokens) without changing the score or the gradients", () => {
    const random = createRandom(12);
    const params = initialLiteParameters(tiny, 5).map(() => random.normal() * 0.7);
    const s = new Float64Array(15).map((_, k) => (k < 10 ? random.normal() : 0));
    const scorer = new LiteScorer(tiny, params);
    const run = (queryTokens: number) => {
      const score = scorer.forward(s, queryTokens, 5);
      const grads = new Float64Array(params.length);
      scorer.backward(1, grads);
      return { score, grads };
    };
    const skipped = run(2);
    const full = run(3);
    assert.ok(Math.abs(skipped.score - full.score) < 1e-12);
    skipped.grads.forEach((g, i) => assert.ok(Math.abs(g - full.grads[i]!) < 1e-12, `parameter ${i}`));
  });

  it("scales the backward pass by the loss gradient and accumulates", () => {
    const random = createRandom(5);
    const params = initialLiteParameters(tiny, 2);
    const layout = liteLayout(tiny);
    for (let i = layout.readout; i < layout.alpha; i++) params[i] = random.normal();
    const s = new Float64Array(15).map(() => random.normal());
    const scorer = new LiteScorer(tiny, params);
    scorer.forward(s, 3, 5);
    const once = new Float64Array(params.length);
    scorer.backward(1, once);
    const twice = new Float64Array(params.length);
    scorer.backward(0.5, twice);
    scorer.backward(1.5, twice);
    once.forEach((g, i) => assert.ok(Math.abs(2 * g - twice[i]!) < 1e-9));
  });

  it("normalises a vector to zero mean and unit variance", () => {
    const y = new Float64Array(4);
    layerNorm(Float64Array.from([1, 2, 3, 6]), y, 4);
    assert.ok(Math.abs(y.reduce((a, b) => a + b, 0)) < 1e-12);
    assert.ok(Math.abs(y.reduce((a, b) => a + b * b, 0) / 4 - 1) < 1e-4);
  });
});

describe("baselines", () => {
  it("MaxSim reads only real tokens; padding is zero in S", () => {
    const q: TokenMatrix = { length: 1, dimensions: 2, data: Float32Array.from([1, 0]) };
    const d: TokenMatrix = { length: 2, dimensions: 2, data: Float32Array.from([-1, 0, 0, 1]) };
    const s = similarityMatrix(q, d, 2, 3, new Float64Array(6));
    assert.deepEqual([...s], [-1, 0, 0, 0, 0, 0]);
    assert.equal(maxSim(s, 1, 2, 3), 0);
    assert.equal(maxSim(s, 1, 1, 3), -1);
  });

  it("S holds every query-document dot product, whatever the dimension's remainder by 4", () => {
    const random = createRandom(9);
    for (const dimensions of [1, 3, 4, 7, 100]) {
      const q = randomTokens(random, 3, dimensions);
      const d = randomTokens(random, 5, dimensions);
      const s = similarityMatrix(q, d, 4, 6, new Float64Array(24).fill(7));
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 6; j++) {
          const expected = i < 3 && j < 5 ? dot(q.data.subarray(i * dimensions, (i + 1) * dimensions), d.data.subarray(j * dimensions, (j + 1) * dimensions)) : 0;
          assert.ok(Math.abs(s[i * 6 + j]! - expected) < 1e-12, `${dimensions} dimensions, S[${i}][${j}]`);
        }
      }
    }
  });

  it("the dual encoder pools to a unit vector", () => {
    const pooled = pooledVector({ length: 2, dimensions: 2, data: Float32Array.from([1, 0, 0, 1]) });
    assert.ok(Math.abs(dot(pooled, pooled) - 1) < 1e-12);
    assert.deepEqual([...pooledVector({ length: 0, dimensions: 2, data: new Float32Array(0) })], [0, 0]);
  });

  it("BM25 ranks the document with the query's terms first, also for one or two documents", () => {
    const index = new Bm25Index(["the whale swam deep", "a ship sailed on the sea", "cats (and) dogs"]);
    const scores = index.scores("whale (ship");
    assert.ok(scores[0]! > 0 && scores[1]! > 0 && scores[2] === 0);
    assert.deepEqual(new Bm25Index(["sea", "whales and a whale"]).scores("whale").map((s) => s > 0), [false, true]);
    assert.equal(new Bm25Index(["whale"]).scores("whale")[0]! > 0, true);
  });

  it("BM25 of one or two documents is BM25 over those documents alone (no padding changes the scores)", () => {
    // N = 2, average length 3; "whale" in both (IDF log 1.2), "sea" in one (IDF log 2); k1 1.2, b 0.75.
    const [first, second] = new Bm25Index(["whale ship", "whale whale sea sea"]).scores("whale sea");
    assert.ok(Math.abs(first! - (Math.log(1.2) * 2.2) / (1 + 1.2 * 0.75)) < 1e-12);
    assert.ok(Math.abs(second! - ((Math.log(1.2) + Math.log(2)) * 4.4) / (2 + 1.2 * 1.25)) < 1e-12);
    // N = 1: every term is in every document, IDF log(0.5 / 1.5 + 1), length normalisation 1.
    assert.ok(Math.abs(new Bm25Index(["whale whale ship"]).scores("whale")[0]! - (Math.log(4 / 3) * 4.4) / 3.2) < 1e-12);
    assert.deepEqual(new Bm25Index(["", ""]).scores("whale"), [0, 0]);
    assert.deepEqual(new Bm25Index(["whale", "ship"]).search("whale (ship", 1), [[0, new Bm25Index(["whale", "ship"]).scores("whale (ship")[0]!]]);
  });

  it("the small-collection scorer is wink's BM25 where wink can score (3 documents and more)", () => {
    const random = createRandom(21);
    const vocabulary = ["whale", "ship", "sea", "captain", "president", "congress", "war", "peace", "money", "the", "(and)", "ships"];
    for (let trial = 0; trial < 40; trial++) {
      const text = () => Array.from({ length: 1 + random.int(9) }, () => vocabulary[random.int(vocabulary.length)]).join(" ");
      const documents = Array.from({ length: 3 + (trial % 4) }, text);
      const query = text();
      const wink = new Bm25Index(documents).scores(query);
      smallCollectionScores(documents, query).forEach((score, i) => assert.ok(Math.abs(score - wink[i]!) < 1e-5, `${JSON.stringify({ documents, query })}: ${score} vs ${wink[i]}`));
    }
  });

  it("ranking metrics with one relevant document", () => {
    assert.equal(rankOf([1, 3, 2], 0), 2);
    assert.equal(reciprocalRankAt([1, 3, 2], 0), 1 / 3);
    assert.equal(reciprocalRankAt([1, 1], 0), 0.5, "ties count against the relevant one");
    assert.equal(ndcgAt([5, 1], 0), 1);
    assert.equal(reciprocalRankAt([0, ...new Array(10).fill(1)], 0), 0);
  });
});

describe("word-vector encoder", () => {
  const table = WordVectors.quantize(["the", "whale", "ship"], [[1, 0, 0], [0, 2, 1], [0, -1, 3]], 3);

  it("gives unit vectors, and a fixed self-matching vector to unknown words", () => {
    const m = table.encode("The WHALE, the Pequod!", 10);
    assert.equal(m.length, 4);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(dot(m.data.subarray(i * 3, i * 3 + 3), m.data.subarray(i * 3, i * 3 + 3)) - 1) < 1e-6);
    const again = table.encode("pequod", 1);
    assert.deepEqual([...again.data], [...m.data.subarray(9, 12)]);
    assert.equal(table.encode("a b c d", 2).length, 2);
  });

  it("splits words on letters and digits, and pools the first 4 x length of them for the reduced form", () => {
    assert.deepEqual(words("Don't stop, Ahab"), ["don", "t", "stop", "ahab"]);
    const pooled = table.encodeDocument("the whale the ship ship", 512, 2, "pooled");
    // Runs [the, whale] and [the, ship, ship]: each run's mean, normalised.
    assert.equal(pooled.length, 2);
    const tokens = table.encode("the whale the ship ship", 512);
    const mean = (rows: number[]) => {
      const sum = [0, 1, 2].map((t) => rows.reduce((total, row) => total + tokens.data[row * 3 + t]!, 0));
      return sum.map((value) => value / Math.hypot(...sum));
    };
    [...mean([0, 1]), ...mean([2, 3, 4])].forEach((value, i) => assert.ok(Math.abs(value - pooled.data[i]!) < 1e-6));
  });
});

describe("stored document form", () => {
  it("packs token vectors as halves: two bytes a value, read back as each value rounded to half", () => {
    const tokens = randomTokens(createRandom(5), 7, 10);
    const bytes = packTokens(tokens);
    assert.equal(bytes.length, 7 * 10 * 2);
    const read = unpackTokens(bytes, 10);
    assert.deepEqual([read.length, read.dimensions], [7, 10]);
    assert.deepEqual(read.data, Float32Array.from(tokens.data, roundToHalf));
    assert.ok(read.data.some((value, i) => value !== tokens.data[i]), "halves are not the float32 values");
    assert.deepEqual(unpackTokens(packTokens(read), 10).data, read.data, "packing the read form again changes nothing");
  });

  it("reads a form at any byte offset (a Redis reply's buffer) and refuses a partial vector", () => {
    const bytes = packTokens(randomTokens(createRandom(6), 3, 4));
    const shifted = new Uint8Array(bytes.length + 1).subarray(1);
    shifted.set(bytes);
    assert.deepEqual(unpackTokens(shifted, 4), unpackTokens(bytes, 4));
    assert.throws(() => unpackTokens(bytes.subarray(2), 4), /whole number/);
    assert.equal(unpackTokens(new Uint8Array(0), 4).length, 0);
    const scratch = new Float32Array(16);
    const into = unpackTokens(bytes, 4, scratch);
    assert.equal(into.data.buffer, scratch.buffer, "written into the scratch buffer");
    assert.deepEqual(into, unpackTokens(bytes, 4));
  });
});

describe("training", () => {
  it("learns position, which MaxSim cannot see, and keeps the best validation epoch", () => {
    // The relevant document holds the query's tokens at its start, the others at its end:
    // every candidate has the same MaxSim, so only a position-aware scorer ranks them.
    const shape: LiteShape = { queryLength: 2, documentLength: 6, rowHidden: 8, rowOutput: 4, columnHidden: 4, columnOutput: 3 };
    const random = createRandom(9);
    const make = (): RankingExample => {
      const q = randomTokens(random, 2, 8);
      const filler = () => randomTokens(random, 4, 8).data;
      const doc = (front: boolean): TokenMatrix => {
        const data = new Float32Array(6 * 8);
        data.set(front ? q.data : filler().subarray(0, 16), 0);
        data.set(filler().subarray(0, 16), 16);
        data.set(front ? filler().subarray(0, 16) : q.data, 32);
        return { length: 6, dimensions: 8, data };
      };
      return { query: q, candidates: [doc(true), doc(false), doc(false), doc(false)] };
    };
    const train = Array.from({ length: 60 }, make);
    const validation = Array.from({ length: 30 }, make);
    const result = trainLite(train, validation, { shape, learningRate: 0.01, epochs: 15, batchSize: 8, seed: 1, clip: 5 });
    const untrained = result.history[0]!.validationMrr;
    const trained = evaluate(new LiteScorer(shape, result.params), validation).mrr;
    assert.ok(untrained < 0.6, `MaxSim ties: ${untrained}`);
    assert.ok(trained > 0.9, `LITE after training: ${trained}`);
    assert.equal(trained, result.history[result.bestEpoch]!.validationMrr);
  });
});
