/** The reference sampling law (src/engine/sampling/law.ts): llama.cpp's chain, step by step. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChainConfig } from "../src/engine/native/chain.ts";
import { chainFor } from "../src/engine/sampling/chain-for.ts";
import { chainDistribution } from "../src/engine/sampling/law.ts";
import { greedy } from "../src/engine/sampling/params.ts";

/** Raw logits of tokens 0..4 whose softmax is 0.5, 0.25, 0.15, 0.1, 0 (token 4 is -Infinity). */
const logits = [Math.log(0.5), Math.log(0.25), Math.log(0.15), Math.log(0.1), -Infinity];
const chain = (overrides: Partial<ChainConfig>): ChainConfig => ({ temperature: 1, ...overrides });
const close = (actual: readonly number[], expected: readonly number[]) =>
  actual.forEach((value, i) => assert.ok(Math.abs(value - expected[i]!) < 1e-12, `${actual} vs ${expected}`));

describe("the sampling law", () => {
  it("is the softmax of the raw logits at temperature 1 with nothing else set", () => {
    const result = chainDistribution(logits, chain({}));
    assert.deepEqual(result.tokens, [0, 1, 2, 3]);
    close(result.probs, [0.5, 0.25, 0.15, 0.1]);
  });

  it("collapses to the argmax at temperature 0", () => {
    assert.deepEqual(chainDistribution(logits, chain({ temperature: 0 })), { tokens: [0], probs: [1] });
  });

  it("sharpens below temperature 1 and flattens above", () => {
    assert.ok(chainDistribution(logits, chain({ temperature: 0.5 })).probs[0]! > 0.5);
    assert.ok(chainDistribution(logits, chain({ temperature: 2 })).probs[0]! < 0.5);
  });

  it("keeps the top k", () => {
    const result = chainDistribution(logits, chain({ topK: 2 }));
    assert.deepEqual(result.tokens, [0, 1]);
    close(result.probs, [2 / 3, 1 / 3]);
  });

  it("truncates top_p and min_p on the untempered distribution, then applies the temperature", () => {
    assert.deepEqual(chainDistribution(logits, chain({ topP: 0.75 })).tokens, [0, 1]);
    assert.deepEqual(chainDistribution(logits, chain({ topP: 0.76 })).tokens, [0, 1, 2]);
    // At temperature 3 the tempered law is flat enough that top_p 0.75 on it would keep three tokens.
    assert.deepEqual(chainDistribution(logits, chain({ topP: 0.75, temperature: 3 })).tokens, [0, 1]);
    assert.deepEqual(chainDistribution(logits, chain({ minP: 0.3 })).tokens, [0, 1, 2]);
    assert.deepEqual(chainDistribution(logits, chain({ minP: 0.3, temperature: 0.2 })).tokens, [0, 1, 2]);
  });

  it("bans with logit_bias -100 and boosts with a positive bias, before the penalties", () => {
    assert.deepEqual(chainDistribution(logits, chainFor({ ...greedy, logitBias: new Map([[0, -100]]) }, [], 0)).tokens, [1]);
    assert.deepEqual(chainDistribution(logits, chainFor({ ...greedy, logitBias: new Map([[3, 5]]) }, [], 0)).tokens, [3]);
  });

  it("penalises generated tokens by count (frequency) and presence", () => {
    assert.deepEqual(chainDistribution(logits, chainFor({ ...greedy, presencePenalty: 1 }, [0], 0)).tokens, [1]);
    const probabilityOf0 = (history: number[]) => chainDistribution(logits, chainFor({ ...greedy, temperature: 1, frequencyPenalty: 0.5 }, history, 0)).probs[0]!;
    assert.ok(probabilityOf0([0, 0]) < probabilityOf0([0]));
  });

  it("applies repetition_penalty to raw logits by their sign, as llama.cpp does", () => {
    // Negative logits are multiplied (pushed down), positive ones divided (pulled towards 0).
    const shifted = logits.map((logit) => logit + 2); // token 0: 1.31, token 3: -0.30
    const penalised = chainDistribution(shifted, chainFor({ ...greedy, temperature: 1, repetitionPenalty: 2 }, [0, 3], 0));
    const p = (token: number) => penalised.probs[penalised.tokens.indexOf(token)]!;
    assert.ok(Math.abs(Math.log(p(0) / p(1)) - (shifted[0]! / 2 - shifted[1]!)) < 1e-12);
    assert.ok(Math.abs(Math.log(p(3) / p(1)) - (shifted[3]! * 2 - shifted[1]!)) < 1e-12);
  });
});
