/**
 * Where plain decoding lets node-llama-cpp do part of the sampling, on the real target model:
 * - samplingDistributionOptions asks for only its top k where that is exact: the transformed
 *   distribution is the same whether applySampling starts from the raw distribution or from
 *   the natively truncated one;
 * - nativeSampling lets its sampler draw the token where that is the same law: a chi-square
 *   test of native draws against applySampling's distribution.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel, type Llama, type LlamaContextSequence, type LlamaModel } from "node-llama-cpp";
import { chiSquareTest } from "../kernels/kseq/chi-square.ts";
import { createRandom } from "../kernels/random.ts";
import { nativeSampling, plainDecoding } from "../src/engine/decoding/plain.ts";
import { fromProbabilityMap, rawDistributionOptions, samplingDistributionOptions, type Distribution, type DistributionOptions } from "../src/engine/sampling/distribution.ts";
import { greedy, type SamplingParams } from "../src/engine/sampling/params.ts";
import { applySampling } from "../src/engine/sampling/transform.ts";
import { modelPath } from "./gateway-harness.ts";

let llama: Llama;
let model: LlamaModel;
let sequence: LlamaContextSequence;

before(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: modelPath("target") });
  const context = await model.createContext({ contextSize: 128, sequences: 1, threads: 1 });
  sequence = context.getSequence();
});

after(async () => {
  await model.dispose();
  await llama.dispose();
});

/** The next-token distribution after `text`, copied out with `options`. */
async function nextDistribution(text: string, options: DistributionOptions): Promise<Distribution> {
  await sequence.clearHistory();
  const tokens = model.tokenize(text);
  const [last] = await sequence.controlledEvaluate([...tokens.slice(0, -1), [tokens[tokens.length - 1]!, { generateNext: { probabilities: true, options } }]]).then((results) => results.slice(-1));
  return fromProbabilityMap(last!.next!.probabilities!);
}

const sampled = (overrides: Partial<SamplingParams>): SamplingParams => ({ ...greedy, temperature: 1, ...overrides });

describe("native top-k before copying a distribution", () => {
  it("gives applySampling's exact result wherever it is used", async () => {
    const cases = [sampled({ topK: 3 }), sampled({ topK: 40, temperature: 0.7, minP: 0.05 }), sampled({ topK: 10, temperature: 1.6 }), sampled({ topK: 1 })];
    for (const text of ["The President said that", "Call me Ishmael. Some years ago", "It is"]) {
      const raw = await nextDistribution(text, rawDistributionOptions);
      for (const sampling of cases) {
        const options = samplingDistributionOptions(sampling, null);
        assert.equal(options.topK, sampling.topK, "the case should use the native top-k");
        const truncated = await nextDistribution(text, options);
        assert.equal(truncated.tokens.length, sampling.topK);
        const expected = applySampling(raw, sampling, []);
        const actual = applySampling(truncated, sampling, []);
        assert.deepEqual(actual.tokens, expected.tokens, `${text} ${JSON.stringify({ ...sampling, logitBias: undefined })}`);
        actual.probs.forEach((p, i) => assert.ok(Math.abs(p - expected.probs[i]!) < 1e-6, `${p} vs ${expected.probs[i]}`));
      }
    }
  });

  it("asks for the raw distribution whenever truncating first would change the law", async () => {
    const raw = [
      sampled({ topK: 3, topP: 0.9 }), // top-p accumulates over the untruncated distribution
      sampled({ topK: 3, presencePenalty: 1 }), // penalties and bias reorder tokens before top-k
      sampled({ topK: 3, logitBias: new Map([[5, 2]]) }),
      { ...greedy, topK: 3 }, // temperature 0 ranks the K most likely drafts from the whole distribution
      sampled({}),
    ];
    for (const sampling of raw) assert.deepEqual(samplingDistributionOptions(sampling, null), rawDistributionOptions);
    assert.deepEqual(samplingDistributionOptions(sampled({ topK: 3 }), 0), rawDistributionOptions, "logprobs report the raw distribution");
    // And the reason for the top-p rule: on the real model, truncating first changes what top-p keeps.
    const text = "The President said that";
    const withTopP = sampled({ topK: 20, topP: 0.5 });
    const fromRaw = applySampling(await nextDistribution(text, rawDistributionOptions), withTopP, []);
    const fromTruncated = applySampling(await nextDistribution(text, { ...rawDistributionOptions, topK: 20 }), withTopP, []);
    assert.notDeepEqual(fromTruncated, fromRaw);
  });
});

describe("native sampling in plain decoding", () => {
  it("is used only where it is applySampling's law, and keeps a seed's output fixed", () => {
    const random = () => createRandom(1);
    assert.ok(nativeSampling({ sampling: sampled({}), logprobs: null, random: random() }));
    assert.ok(nativeSampling({ sampling: sampled({ topK: 5, temperature: 0.5 }), logprobs: null, random: random() }));
    for (const sampling of [sampled({ topP: 0.9 }), sampled({ minP: 0.1 }), sampled({ frequencyPenalty: 1 }), sampled({ logitBias: new Map([[1, 1]]) })]) {
      assert.equal(nativeSampling({ sampling, logprobs: null, random: random() }), undefined);
    }
    assert.equal(nativeSampling({ sampling: sampled({}), logprobs: 0, random: random() }), undefined);
    assert.equal(nativeSampling({ sampling: sampled({}), logprobs: null, random: random() })!.seed, nativeSampling({ sampling: sampled({}), logprobs: null, random: random() })!.seed);
  });

  it("draws the next token with applySampling's law (chi-square, alpha 0.001)", async () => {
    const N = 4000;
    const tokens = model.tokenize("The President said that");
    for (const sampling of [sampled({}), sampled({ temperature: 0.7, topK: 5 })]) {
      const expected = applySampling(await nextDistribution("The President said that", rawDistributionOptions), sampling, []);
      // Cells: the 12 likeliest tokens and the rest together.
      const cells = expected.tokens.slice(0, 12);
      const probabilities = [...expected.probs.slice(0, 12), expected.probs.slice(12).reduce((a, b) => a + b, 0)];
      const observed = new Float64Array(cells.length + 1);
      const random = createRandom(99);
      await sequence.clearHistory();
      await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(0, -1));
      for (let n = 0; n < N; n++) {
        const [decoded] = await plainDecoding.next([tokens[tokens.length - 1]!], { target: sequence, sampling, random, logprobs: null, history: [] });
        const cell = cells.indexOf(decoded!.token);
        observed[cell < 0 ? cells.length : cell]! += 1;
        await sequence.eraseContextTokenRanges([{ start: tokens.length - 1, end: tokens.length }]);
      }
      const { pValue, statistic, df } = chiSquareTest(observed, probabilities);
      assert.ok(pValue > 0.001, `${JSON.stringify({ temperature: sampling.temperature, topK: sampling.topK })}: chi2 ${statistic} df ${df} p ${pValue}`);
      if (sampling.topK > 0) assert.equal(observed[cells.length], 0, "a token outside the top k");
    }
  });
});
