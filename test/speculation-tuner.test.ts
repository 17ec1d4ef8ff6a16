/**
 * The tuner plans with start-up costs plus what served steps were seen to take beyond them
 * (src/engine/decoding/speculation-tuner.ts): a start-up model that flatters speculation costs a
 * few blocks, not every request, and the other option keeps being sampled so it can win back.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { iidAcceptanceModel, speculativeBlockMs, tableCostCurve, type SpeculationCosts } from "../kernels/spectr/index.ts";
import { SpeculationTuner } from "../src/engine/decoding/speculation-tuner.ts";

/** Verification nearly free (a memory-bound target) and a cheap draft: speculation looks good. */
const cheapVerification: SpeculationCosts = {
  targetMs: tableCostCurve([[1, 2], [3, 2.2], [9, 2.6], [40, 4]]),
  draftStepMs: tableCostCurve([[1, 0.2], [8, 0.5]]),
};
const prior = iidAcceptanceModel({ alpha: 0.8, agreement: 0.5 });
const tuner = (): SpeculationTuner => new SpeculationTuner({ sampled: cheapVerification, greedy: cheapVerification }, { maxK: 4, maxL: 4, prior: { sampled: prior, greedy: prior } });

describe("speculation tuner timing", () => {
  it("leaves speculation once its blocks are seen to cost far more than modelled", () => {
    const policy = tuner();
    assert.ok(policy.plan(false).choice.l > 0, "the start-up model favours speculation");
    for (let step = 0; step < 64; step++) {
      const shape = policy.shape(false);
      const modelled = shape.l === 0 ? 2 : speculativeBlockMs(cheapVerification, shape.k, shape.l);
      // Every verified token's reads and bookkeeping cost 3 ms that start-up timing did not see.
      policy.observeTime(shape, shape.l === 0 ? modelled : modelled + 3 * shape.k * (shape.l + 1), false);
    }
    assert.equal(policy.plan(false).choice.l, 0, "plain once the residual is known");
    // The other mode has seen nothing and keeps its own plan.
    assert.ok(policy.plan(true).choice.l > 0);
  });

  it("keeps speculating when the blocks cost what was modelled and plain steps cost more", () => {
    const policy = tuner();
    for (let step = 0; step < 256; step++) {
      const shape = policy.shape(false);
      policy.observeTime(shape, shape.l === 0 ? 2.5 : speculativeBlockMs(cheapVerification, shape.k, shape.l), false);
    }
    assert.ok(policy.plan(false).choice.l > 0);
  });

  it("is not steered by a few slow first steps (a fresh sequence allocating its sampler)", () => {
    // Timed at start-up as on a 256k-token model with draft = target: plain 4.8 ms, a block of
    // K = 1, L = 4 modelled at 20.9 ms; served, plain steps take 3.8 ms and such blocks 25 ms.
    const startUp: SpeculationCosts = { targetMs: tableCostCurve([[1, 4.8], [5, 3.9], [9, 3.95]]), draftStepMs: tableCostCurve([[1, 3.57]]), blockOverheadMs: 2.82 };
    const certain = iidAcceptanceModel({ alpha: 0.99, agreement: 0 });
    const policy = new SpeculationTuner({ sampled: startUp, greedy: startUp }, { maxK: 1, maxL: 4, prior: { sampled: certain, greedy: certain } });
    const shapes = [];
    let plainSteps = 0;
    for (let step = 0; step < 400; step++) {
      const shape = policy.shape(true);
      shapes.push(shape);
      const ms = shape.l === 0 ? (plainSteps++ < 2 ? 40 : 3.8) : 5 * shape.k * (shape.l + 1);
      policy.observeTime(shape, ms, true);
    }
    assert.equal(policy.plan(true).choice.l, 0);
    const late = shapes.slice(200);
    assert.ok(late.filter((shape) => shape.l > 0).length <= late.length / 16, "only exploration speculates once both costs are known");
  });

  it("runs the option not chosen for two steps every exploreEvery steps, both ways", () => {
    const speculating = new SpeculationTuner({ sampled: cheapVerification, greedy: cheapVerification }, { maxK: 4, maxL: 4, exploreEvery: 8, prior: { sampled: prior, greedy: prior } });
    const shapes = Array.from({ length: 64 }, () => speculating.shape(false));
    assert.equal(shapes.filter((shape) => shape.l === 0).length, 16, "plain steps among speculative ones");
    const dear: SpeculationCosts = { targetMs: tableCostCurve([[1, 2], [40, 80]]), draftStepMs: tableCostCurve([[1, 2], [8, 16]]) };
    const plain = new SpeculationTuner({ sampled: dear, greedy: dear }, { maxK: 4, maxL: 4, exploreEvery: 8 });
    assert.equal(plain.plan(false).choice.l, 0);
    const explored = Array.from({ length: 64 }, () => plain.shape(false));
    assert.equal(explored.filter((shape) => shape.l > 0).length, 16, "speculative blocks among plain steps");
    assert.ok(explored.every((shape, i) => shape.l === 0 || explored[i - 1]?.l !== 0 || explored[i + 1]?.l !== 0), "explored in pairs");
  });

  it("ignores timings that are not a duration", () => {
    const policy = tuner();
    const before = policy.plan(false).choice;
    for (let i = 0; i < 32; i++) for (const ms of [Number.NaN, -1, Number.POSITIVE_INFINITY]) policy.observeTime({ k: 1, l: 2 }, ms, false);
    assert.deepEqual(policy.plan(false).choice, before);
  });
});
