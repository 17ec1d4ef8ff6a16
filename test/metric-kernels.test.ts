/**
 * kernels/metric: the Bayes decision rules and the parsers, pure. The rules are checked against
 * brute force (the expected loss of every support point and of a fine grid between them) on
 * every belief over 4 values with weights in quarters and eighths, plus the edge cases: ties, a
 * single candidate, all mass on one value, heavy tails, rounding in cumulative sums.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { candidateSet, CandidateError, rangeTexts, rangeValues } from "../kernels/metric/candidates.ts";
import { empirical, normalize, type Belief } from "../kernels/metric/distribution.ts";
import { absoluteError, decide, pinballLoss, squaredError, type Metric } from "../kernels/metric/metrics.ts";
import { formatNumber, parse, parseInteger, parseLabel, parseNumber } from "../kernels/metric/parsers.ts";
import { argminLoss, expectedLoss, mean, median, mode, quantile, type Loss } from "../kernels/metric/rules.ts";
import { createRandom } from "../kernels/random.ts";

/** Every way to spread `units` among `parts` (compositions, zeros allowed). */
function compositions(units: number, parts: number): number[][] {
  if (parts === 1) return [[units]];
  const out: number[][] = [];
  for (let first = 0; first <= units; first++) for (const rest of compositions(units - first, parts - 1)) out.push([first, ...rest]);
  return out;
}

/** Beliefs over `values` with weights in 1/units steps, at least one positive. */
function beliefsOver(values: readonly number[], units: number): Belief<number>[] {
  return compositions(units, values.length).map((counts) => normalize(values.map((value, i) => ({ value, weight: counts[i]! }))));
}

/** The least expected loss over the support and a fine grid spanning it. */
function bruteMinimum(belief: Belief<number>, loss: Loss<number>): number {
  const values = belief.map(({ value }) => value);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  let least = Infinity;
  for (let i = 0; i <= 400; i++) least = Math.min(least, expectedLoss(belief, lo + ((hi - lo) * i) / 400, loss));
  for (const value of values) least = Math.min(least, expectedLoss(belief, value, loss));
  return least;
}

const supports = [[0, 1, 2, 3], [-5, -1, 0.5, 40], [1, 2, 3, 1000]];
const levels = [0.05, 0.25, 0.5, 0.75, 0.9];

describe("decision rules against brute force", () => {
  for (const support of supports) {
    for (const units of [4, 8]) {
      const beliefs = beliefsOver(support, units).filter((belief) => belief.some(({ weight }) => weight > 0));
      it(`support ${support.join(",")}, weights in 1/${units} (${beliefs.length} beliefs)`, () => {
        for (const belief of beliefs) {
          const m = mean(belief);
          assert.ok(expectedLoss(belief, m, squaredError) <= bruteMinimum(belief, squaredError) + 1e-9, "mean minimizes squared error");
          const med = median(belief);
          assert.ok(support.includes(med), "the median is a value the belief holds");
          assert.ok(belief.find(({ value }) => value === med)!.weight > 0, "the median has mass");
          assert.ok(Math.abs(expectedLoss(belief, med, absoluteError) - bruteMinimum(belief, absoluteError)) < 1e-9, "median minimizes absolute error");
          for (const tau of levels) {
            const q = quantile(belief, tau);
            assert.ok(Math.abs(expectedLoss(belief, q, pinballLoss(tau)) - bruteMinimum(belief, pinballLoss(tau))) < 1e-9, `quantile ${tau} minimizes pinball loss`);
          }
          const top = mode(belief);
          assert.equal(belief.find(({ value }) => value === top)!.weight, Math.max(...belief.map(({ weight }) => weight)));
        }
      });
    }
  }
});

describe("decision rules: edge cases", () => {
  it("a single candidate is every decision", () => {
    const belief = empirical([7]);
    assert.equal(mean(belief), 7);
    assert.equal(median(belief), 7);
    assert.equal(quantile(belief, 0.01), 7);
    assert.equal(quantile(belief, 0.99), 7);
    assert.equal(mode(belief), 7);
    assert.deepEqual(argminLoss(belief, [7], squaredError), { answer: 7, expectedLoss: 0 });
    for (const kind of ["squared_error", "absolute_error", "exact_match"] as const) assert.deepEqual(decide({ kind }, belief), { answer: 7, expectedLoss: 0 });
  });

  it("all mass on one value, other candidates at zero", () => {
    const belief = normalize([{ value: 1, weight: 0 }, { value: 4, weight: 3 }, { value: 5, weight: 0 }]);
    assert.equal(mean(belief), 4);
    assert.equal(median(belief), 4);
    assert.equal(quantile(belief, 0.001), 4, "zero-weight values below are never a quantile");
    assert.equal(quantile(belief, 0.999), 4);
    assert.equal(mode(belief), 4);
    assert.equal(decide({ kind: "exact_match" }, belief).expectedLoss, 0);
  });

  it("ties: the lower median, the first mode, the first argmin", () => {
    assert.equal(median(empirical([1, 2])), 1, "P(y <= 1) = 0.5 exactly: the lower end");
    assert.equal(median(empirical([2, 1, 4, 3])), 2);
    assert.equal(mode(empirical([3, 1, 1, 3])), 3, "equal counts: the first seen");
    assert.equal(mode(empirical(["b", "a"])), "b");
    assert.equal(argminLoss(empirical([1, 3]), [3, 1, 2], absoluteError).answer, 3, "1, 2 and 3 all cost 1: the first candidate");
  });

  it("cumulative sums that round just below tau still reach it", () => {
    // 0.1 + 0.2 = 0.30000000000000004 and thirds sum to 0.9999999999999999.
    assert.equal(quantile(normalize([{ value: 1, weight: 0.1 }, { value: 2, weight: 0.2 }, { value: 3, weight: 0.7 }]), 0.3), 2);
    assert.equal(quantile(empirical([1, 2, 3]), 2 / 3), 2);
    assert.equal(quantile(empirical([1, 2, 3]), 0.999999), 3);
  });

  it("heavy tails: the mean follows the tail, the median does not", () => {
    const belief = normalize([{ value: 0, weight: 0.99 }, { value: 1e6, weight: 0.01 }]);
    assert.equal(mean(belief), 1e4);
    assert.equal(median(belief), 0);
    assert.equal(quantile(belief, 0.995), 1e6);
    const cauchy = createRandom(3);
    const draws = Array.from({ length: 2001 }, () => Math.tan(Math.PI * (cauchy.next() - 0.5)));
    const sampled = empirical(draws);
    const sorted = [...draws].sort((a, b) => a - b);
    assert.equal(median(sampled), sorted[1000], "the sample median of 2001 draws is the 1001st");
    assert.ok(Math.abs(median(sampled)) < 0.2, "Cauchy's median is near 0 even where its mean is anything");
  });

  it("refuses what has no answer", () => {
    assert.throws(() => normalize([]), RangeError);
    assert.throws(() => normalize([{ value: 1, weight: 0 }]), RangeError);
    assert.throws(() => normalize([{ value: 1, weight: -1 }]), RangeError);
    assert.throws(() => normalize([{ value: 1, weight: NaN }]), RangeError);
    assert.throws(() => quantile(empirical([1]), 0), RangeError);
    assert.throws(() => quantile(empirical([1]), 1), RangeError);
    assert.throws(() => mode([]), RangeError);
    assert.throws(() => argminLoss(empirical([1]), [], squaredError), RangeError);
    assert.throws(() => decide({ kind: "squared_error" }, empirical(["a"])), TypeError);
  });

  it("normalize merges equal values and keeps first-appearance order", () => {
    assert.deepEqual(normalize([{ value: 2, weight: 1 }, { value: 1, weight: 2 }, { value: 2, weight: 1 }]), [{ value: 2, weight: 0.5 }, { value: 1, weight: 0.5 }]);
    assert.deepEqual(empirical(["x", "X"], (label) => label.toLowerCase()), [{ value: "x", weight: 1 }]);
  });

  it("decide names each metric's rule and its expected loss", () => {
    const belief = normalize([{ value: 1, weight: 0.2 }, { value: 2, weight: 0.3 }, { value: 5, weight: 0.5 }]);
    const cases: [Metric, number, number][] = [
      [{ kind: "squared_error" }, 3.3, 0.2 * 2.3 ** 2 + 0.3 * 1.3 ** 2 + 0.5 * 1.7 ** 2],
      [{ kind: "absolute_error" }, 2, 0.2 * 1 + 0.5 * 3],
      [{ kind: "exact_match" }, 5, 0.5],
      [{ kind: "pinball", quantile: 0.1 }, 1, 0.1 * (0.3 * 1 + 0.5 * 4)],
      [{ kind: "pinball", quantile: 0.9 }, 5, 0.1 * (0.2 * 4 + 0.3 * 3)],
    ];
    for (const [metric, answer, loss] of cases) {
      const decision = decide(metric, belief);
      assert.ok(Math.abs((decision.answer as number) - answer) < 1e-12, `${metric.kind}: ${decision.answer}`);
      assert.ok(Math.abs(decision.expectedLoss - loss) < 1e-12, `${metric.kind}: loss ${decision.expectedLoss}`);
    }
  });

  it("argmin of an arbitrary loss over candidates", () => {
    const belief = empirical([1, 2, 2, 9]);
    // Asymmetric: answering too high costs 10x.
    const loss: Loss<number> = (truth, answer) => (answer > truth ? 10 * (answer - truth) : truth - answer);
    const { answer, expectedLoss: least } = argminLoss(belief, [1, 2, 3, 9], loss);
    assert.equal(answer, 1);
    assert.equal(least, (0 + 1 + 1 + 8) / 4);
    assert.equal(argminLoss(belief, [0, 1, 2, 3, 4, 5], squaredError).answer, 3, "squared error's best candidates are those nearest the mean 3.5: 3 and 4 tie, the first wins");
  });
});

describe("parsers", () => {
  it("number: the first number, sign, fraction, exponent", () => {
    const cases: [string, number | null][] = [
      [" 4", 4], ["4.", 4], ["-3 stars", -3], ["\u22122", -2], ["+2.5/5", 2.5], [".5", 0.5], ["1e3", 1000],
      ["score: 7, or 8", 7], ["1,000", 1], ["rated 1999 and 2000", 1999], ["none", null], ["", null], ["-", null], ["1e999", null], ["1e151", null], ["-1e150", -1e150],
    ];
    for (const [text, value] of cases) assert.equal(parseNumber(text), value, JSON.stringify(text));
  });

  it("integer: the first number when it is whole", () => {
    const cases: [string, number | null][] = [[" 4", 4], ["4.0", 4], ["4.", 4], ["-5", -5], ["3.5", null], ["x", null], ["99999999999999999999", null]];
    for (const [text, value] of cases) assert.equal(parseInteger(text), value, JSON.stringify(text));
  });

  it("labels: the longest label the text starts with, whole words, any case", () => {
    const labels = ["positive", "negative", "very positive", "neutral", "+"];
    const cases: [string, string | null][] = [
      [" Positive.", "positive"], ["NEGATIVE", "negative"], ["very positive!", "very positive"], ["positively", null],
      ["neutral\nbecause", "neutral"], ["+1", "+"], ["it is positive", null], ["", null],
    ];
    for (const [text, label] of cases) assert.equal(parseLabel(text, labels), label, JSON.stringify(text));
    assert.equal(parse({ kind: "labels", labels }, " very positive"), "very positive");
    assert.equal(parse({ kind: "integer" }, "2.5"), null);
    assert.equal(parse({ kind: "number" }, "2.5"), 2.5);
  });

  it("formatNumber writes decisions without binary noise", () => {
    assert.equal(formatNumber(0.1 + 0.2), "0.3");
    assert.equal(formatNumber(3.4000000000000004), "3.4");
    assert.equal(formatNumber(-0), "0");
    assert.equal(formatNumber(-2.5), "-2.5");
    assert.equal(formatNumber(1e21), "1e+21");
  });
});

describe("candidates", () => {
  it("ranges are exact at every step and inclusive", () => {
    assert.deepEqual(rangeValues({ from: 0, to: 1, step: 0.1 }, 100), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    assert.deepEqual(rangeValues({ from: -5, to: 5, step: 5 }, 100), [-5, 0, 5]);
    assert.deepEqual(rangeValues({ from: 1, to: 1, step: 1 }, 100), [1]);
    assert.deepEqual(rangeValues({ from: 1, to: 2.5, step: 1 }, 100), [1, 2]);
    assert.deepEqual(rangeTexts({ from: 1, to: 3, step: 1 }, " ", 10), [" 1", " 2", " 3"]);
    assert.throws(() => rangeValues({ from: 0, to: 100, step: 1 }, 50), /101 values/);
    assert.throws(() => rangeValues({ from: 1, to: 0, step: 1 }, 50), RangeError);
    assert.throws(() => rangeValues({ from: 0, to: 1, step: 0 }, 50), RangeError);
  });

  it("every candidate parses to a distinct answer", () => {
    assert.deepEqual(candidateSet([" 1", " 2"], { kind: "integer" }), [{ text: " 1", answer: 1 }, { text: " 2", answer: 2 }]);
    assert.deepEqual(candidateSet(["Yes", "no"], { kind: "labels", labels: ["yes", "no"] }).map(({ answer }) => answer), ["yes", "no"]);
    assert.throws(() => candidateSet([], { kind: "number" }), CandidateError);
    assert.throws(() => candidateSet(["one"], { kind: "number" }), /does not parse as a number/);
    assert.throws(() => candidateSet(["1.5"], { kind: "integer" }), /an integer/);
    assert.throws(() => candidateSet(["4", " 4"], { kind: "number" }), /same answer/);
  });
});
