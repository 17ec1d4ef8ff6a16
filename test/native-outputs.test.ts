/**
 * The node-llama-cpp internals the engine relies on (src/engine/native/), on the real demo
 * target and on a random-weight model with a 32k-token vocabulary written for the test:
 * - several reads of one output: filtered logits, the total weight, a top-k list and the raw
 *   logprobs built from them equal the log-softmax of the full row of logits;
 * - the chain draws with the documented law (sampling/law.ts): chi-square of plain decoding's
 *   native draws against the reference, for temperature, top-p, min-p, penalties and bias;
 * - copying a sequence's state gives a sequence that continues exactly like the source.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel, type Llama, type LlamaContextSequence, type LlamaModel, type Token } from "node-llama-cpp";
import { chiSquareTest } from "../kernels/kseq/chi-square.ts";
import { createRandom } from "../kernels/random.ts";
import { writeRandomLlama } from "../kernels/transformer/random-model.ts";
import { plainDecoding } from "../src/engine/decoding/plain.ts";
import { evaluateWithOutputs, type OutputAnswer, type OutputTask } from "../src/engine/native/outputs.ts";
import type { RawLogprobs } from "../src/engine/native/reads.ts";
import { rawLogprobs } from "../src/engine/native/reads.ts";
import { copySequenceState } from "../src/engine/native/sequence-state.ts";
import { chainFor } from "../src/engine/sampling/chain-for.ts";
import { chainDistribution } from "../src/engine/sampling/law.ts";
import { greedy, type SamplingParams } from "../src/engine/sampling/params.ts";
import { modelPath } from "./gateway-harness.ts";

let llama: Llama;
let directory: string;
const models: Record<"demo" | "v32k", { model: LlamaModel; sequences: LlamaContextSequence[] }> = {} as never;

before(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  directory = mkdtempSync(join(tmpdir(), "native-outputs-"));
  const large = join(directory, "v32k.gguf");
  writeRandomLlama(large, { vocabSize: 32_768, seed: 3 });
  for (const [name, path] of [["demo", modelPath("target")], ["v32k", large]] as const) {
    const model = await llama.loadModel({ modelPath: path });
    const context = await model.createContext({ contextSize: 256, sequences: 2, threads: 1 });
    models[name] = { model, sequences: [context.getSequence(), context.getSequence()] };
  }
});

after(async () => {
  for (const { model } of Object.values(models)) await model.dispose();
  await llama.dispose();
  rmSync(directory, { recursive: true, force: true });
});

const TEXT = "The President said that";

/** The raw logits after `text`, the whole row, through node-llama-cpp's public API. */
async function rawRow(name: keyof typeof models, tokens: readonly number[]): Promise<Float64Array> {
  const { model, sequences } = models[name];
  const sequence = sequences[0]!;
  await sequence.clearHistory();
  const items = tokens.map((token) => token as Token) as Parameters<LlamaContextSequence["controlledEvaluate"]>[0];
  items[items.length - 1] = [tokens[tokens.length - 1]! as Token, { generateNext: { logits: true } }];
  const results = await sequence.controlledEvaluate(items);
  const full = new Float64Array(model.fileInfo.metadata.tokenizer!.ggml!.tokens!.length);
  for (const [token, logit] of results[tokens.length - 1]!.next!.logits!) full[token] = logit;
  return full;
}

function logSoftmax(row: Float64Array): Float64Array {
  let max = -Infinity;
  for (const value of row) max = Math.max(max, value);
  let sum = 0;
  for (const value of row) sum += Math.exp(value - max);
  const logZ = max + Math.log(sum);
  return row.map((value) => value - logZ);
}

for (const name of ["demo", "v32k"] as const) {
  describe(`native reads of one output (${name})`, () => {
    it("give raw logprobs and the top list equal to the log-softmax of the whole row", async () => {
      const { model, sequences } = models[name];
      const tokens = model.tokenize(TEXT);
      const expected = logSoftmax(await rawRow(name, tokens));
      const ranked = [...expected.keys()].sort((a, b) => expected[b]! - expected[a]!);
      const asked = [ranked[0]!, ranked[7]!, ranked[ranked.length - 1]!];
      const sequence = sequences[0]!;
      await sequence.clearHistory();
      const task: OutputTask<RawLogprobs> = (reader) => rawLogprobs(reader, asked, 5);
      const read = (await evaluateWithOutputs(sequence, tokens, new Map([[tokens.length - 1, task]])))[tokens.length - 1];
      for (const token of asked) assert.ok(Math.abs(read!.of(token) - Math.max(-9999, expected[token]!)) < 1e-3, `token ${token}: ${read!.of(token)} vs ${expected[token]}`);
      assert.deepEqual(read!.top.map((t) => t.token), ranked.slice(0, 5));
      read!.top.forEach((t) => assert.ok(Math.abs(t.logprob - expected[t.token]!) < 1e-4));
    });

    it("give a truncating chain's candidates with the law's probabilities", async () => {
      const { model, sequences } = models[name];
      const tokens = model.tokenize(TEXT);
      const row = await rawRow(name, tokens);
      const chain = chainFor({ ...greedy, temperature: 0.8, topK: 40, topP: 0.9 }, [], 1);
      const expected = chainDistribution(row, chain);
      await sequences[0]!.clearHistory();
      const task: OutputTask<OutputAnswer> = (reader) => reader.read({ chain, candidates: true });
      const read = (await evaluateWithOutputs(sequences[0]!, tokens, new Map([[tokens.length - 1, task]])))[tokens.length - 1];
      assert.deepEqual(Array.from(read!.candidates!.tokens), expected.tokens);
      read!.candidates!.values.forEach((p, i) => assert.ok(Math.abs(p - expected.probs[i]!) < 1e-5));
    });

    it("copying a sequence's state continues exactly like the source", async () => {
      const { model, sequences } = models[name];
      const [source, copy] = sequences as [LlamaContextSequence, LlamaContextSequence];
      await Promise.all([source.clearHistory(), copy.clearHistory()]);
      const prompt = model.tokenize(TEXT);
      await evaluateWithOutputs(source, prompt.slice(0, -1), new Map());
      assert.equal(await copySequenceState(copy, source, prompt.length - 1), true);
      assert.deepEqual(copy.contextTokens, source.contextTokens);
      const continuation = async (sequence: LlamaContextSequence): Promise<number[]> => {
        const out: number[] = [];
        let input: number[] = [prompt[prompt.length - 1]!];
        for (let i = 0; i < 8; i++) {
          const [decoded] = await plainDecoding.next(input, { target: sequence, sampling: greedy, random: createRandom(1), logprobs: null, history: out });
          out.push(decoded!.token);
          input = [decoded!.token];
        }
        return out;
      };
      assert.deepEqual(await continuation(copy), await continuation(source));
    });
  });
}

describe("plain decoding draws with the documented law (chi-square, alpha 0.001)", () => {
  const cases: [keyof typeof models, string, SamplingParams, number[]][] = [
    ["demo", "temperature 1", { ...greedy, temperature: 1 }, []],
    ["demo", "temperature 0.7, top_p 0.8", { ...greedy, temperature: 0.7, topP: 0.8 }, []],
    ["demo", "temperature 1.3, min_p 0.1", { ...greedy, temperature: 1.3, minP: 0.1 }, []],
    ["demo", "penalties and logit_bias", { ...greedy, temperature: 1, presencePenalty: 0.7, frequencyPenalty: 0.3, repetitionPenalty: 1.3, logitBias: new Map([[11, 2], [13, -100]]) }, []],
    ["v32k", "32k vocabulary: temperature 0.9, top_p 0.95, penalties", { ...greedy, temperature: 0.9, topP: 0.95, presencePenalty: 0.5, repetitionPenalty: 1.2 }, []],
  ];
  for (const [name, label, sampling] of cases) {
    it(`${name}: ${label}`, async () => {
      const N = 3000;
      const { model, sequences } = models[name];
      const tokens = model.tokenize(TEXT);
      const row = await rawRow(name, tokens);
      // Penalties count the generated history: let it hold the row's likeliest tokens, so they bite.
      const history = [...row.keys()].sort((a, b) => row[b]! - row[a]!).slice(0, 3);
      const expected = chainDistribution(row, chainFor(sampling, history, 0));
      const cells = expected.tokens.slice(0, 12);
      const probabilities = [...expected.probs.slice(0, 12), expected.probs.slice(12).reduce((a, b) => a + b, 0)];
      const observed = new Float64Array(cells.length + 1);
      const random = createRandom(99);
      const sequence = sequences[0]!;
      await sequence.clearHistory();
      await evaluateWithOutputs(sequence, tokens.slice(0, -1), new Map());
      const support = new Set(expected.tokens);
      for (let n = 0; n < N; n++) {
        const [decoded] = await plainDecoding.next([tokens[tokens.length - 1]!], { target: sequence, sampling, random, logprobs: null, history });
        assert.ok(support.has(decoded!.token), `token ${decoded!.token} is outside the law's support`);
        const cell = cells.indexOf(decoded!.token);
        observed[cell < 0 ? cells.length : cell]! += 1;
        await sequence.eraseContextTokenRanges([{ start: tokens.length - 1, end: tokens.length }]);
      }
      const { pValue, statistic, df } = chiSquareTest(observed, probabilities);
      assert.ok(pValue > 0.001, `chi2 ${statistic} df ${df} p ${pValue}`);
    });
  }

  it("a seed fixes the draws", async () => {
    const { model, sequences } = models.demo;
    const tokens = model.tokenize(TEXT);
    const draws = async (seed: number): Promise<number[]> => {
      const random = createRandom(seed);
      const out: number[] = [];
      for (let n = 0; n < 20; n++) {
        await sequences[0]!.clearHistory();
        const [decoded] = await plainDecoding.next(tokens, { target: sequences[0]!, sampling: { ...greedy, temperature: 1.5 }, random, logprobs: null, history: [] });
        out.push(decoded!.token);
      }
      return out;
    };
    assert.deepEqual(await draws(5), await draws(5));
    assert.notDeepEqual(await draws(5), await draws(6));
  });
});
