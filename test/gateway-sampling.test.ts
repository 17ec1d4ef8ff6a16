import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createRandom } from "../kernels/random.ts";
import type { Distribution } from "../src/engine/sampling/distribution.ts";
import { draw } from "../src/engine/sampling/draw.ts";
import { greedy, type SamplingParams } from "../src/engine/sampling/params.ts";
import { applySampling } from "../src/engine/sampling/transform.ts";

const raw: Distribution = { tokens: [10, 20, 30, 40], probs: [0.5, 0.25, 0.15, 0.1] };
const plain: SamplingParams = { ...greedy, temperature: 1 };
const close = (actual: readonly number[], expected: readonly number[]) =>
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]!) < 1e-12, `${actual} vs ${expected}`));

describe("applySampling", () => {
  it("is the identity at temperature 1 with nothing else set", () => {
    const result = applySampling(raw, plain, []);
    assert.deepEqual(result.tokens, raw.tokens);
    close(result.probs, raw.probs);
  });

  it("collapses to the most probable token at temperature 0", () => {
    assert.deepEqual(applySampling(raw, greedy, []), { tokens: [10], probs: [1] });
  });

  it("sharpens below temperature 1 and flattens above", () => {
    assert.ok(applySampling(raw, { ...plain, temperature: 0.5 }, []).probs[0]! > 0.5);
    assert.ok(applySampling(raw, { ...plain, temperature: 2 }, []).probs[0]! < 0.5);
  });

  it("keeps the top k", () => {
    const result = applySampling(raw, { ...plain, topK: 2 }, []);
    assert.deepEqual(result.tokens, [10, 20]);
    close(result.probs, [2 / 3, 1 / 3]);
  });

  it("keeps the smallest prefix reaching top_p", () => {
    assert.deepEqual(applySampling(raw, { ...plain, topP: 0.7 }, []).tokens, [10, 20]);
    assert.deepEqual(applySampling(raw, { ...plain, topP: 0.75 }, []).tokens, [10, 20]);
    assert.deepEqual(applySampling(raw, { ...plain, topP: 0.76 }, []).tokens, [10, 20, 30]);
  });

  it("drops tokens under min_p times the top probability", () => {
    assert.deepEqual(applySampling(raw, { ...plain, minP: 0.3 }, []).tokens, [10, 20, 30]);
  });

  it("bans with logit_bias -100 and boosts with positive bias", () => {
    assert.deepEqual(applySampling(raw, { ...greedy, logitBias: new Map([[10, -100]]) }, []).tokens, [20]);
    assert.deepEqual(applySampling(raw, { ...greedy, logitBias: new Map([[40, 5]]) }, []).tokens, [40]);
  });

  it("penalises generated tokens by count (frequency) and presence", () => {
    assert.deepEqual(applySampling(raw, { ...greedy, presencePenalty: 1 }, [10]).tokens, [20]);
    const once = applySampling(raw, { ...plain, frequencyPenalty: 0.5 }, [10]);
    const twice = applySampling(raw, { ...plain, frequencyPenalty: 0.5 }, [10, 10]);
    assert.ok(twice.probs[twice.tokens.indexOf(10)]! < once.probs[once.tokens.indexOf(10)]!);
  });

  it("applies repetition_penalty only to seen tokens", () => {
    const result = applySampling(raw, { ...plain, repetitionPenalty: 2 }, [20]);
    assert.ok(result.probs[result.tokens.indexOf(20)]! < 0.25);
  });
});

describe("draw", () => {
  it("samples in proportion to the probabilities and repeats for a seed", () => {
    const random = createRandom(1);
    const counts = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const token = draw(raw, random);
      counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    raw.tokens.forEach((token, i) => assert.ok(Math.abs(counts.get(token)! / 20_000 - raw.probs[i]!) < 0.015));
    const again = (seed: number) => Array.from({ length: 20 }, ((random) => () => draw(raw, random))(createRandom(seed)));
    assert.deepEqual(again(5), again(5));
    assert.notDeepEqual(again(5), again(6));
  });
});
