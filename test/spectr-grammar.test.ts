/**
 * SpecTr under a grammar (src/engine/decoding/spectr.ts with a grammar state) on the REAL demo
 * pair: p and q are the grammar-masked laws, drafts are proposed under the grammar state after
 * their own prefix, and the choice's state advances only on emitted tokens. Checked against
 * plain decoding under the same grammar:
 * - temperature 0, a JSON schema grammar: SpecTr's output equals plain greedy decoding's token
 *   for token (K in {1, 4}, L = 4), every output a valid prefix of the schema's language;
 * - temperature 1, a small grammar: the joint law of the first two tokens under SpecTr (K = 4,
 *   L = 2) matches the EXACT masked joint (raw logits, the mask read through node-llama-cpp's own
 *   single-token grammar check, then the reference law) by chi-square, for the head-and-tail
 *   path (3-token head, so the tail path with its banned head runs often) and the explicit one
 *   (top-k). A few thousand samples each, to stay cheap in CI: a check of exactness against
 *   gross errors (a wrong state at a draft position, an unmasked read), not of 1% shifts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { chiSquareTest } from "../kernels/kseq/chi-square.ts";
import { createRandom } from "../kernels/random.ts";
import { plainDecoding } from "../src/engine/decoding/plain.ts";
import { fixedSpeculation, SpectrDecoding } from "../src/engine/decoding/spectr.ts";
import { leaseSpectrSequences } from "../src/engine/decoding/spectr-sequences.ts";
import type { DecodingStrategy } from "../src/engine/decoding/strategy.ts";
import { generateChoice } from "../src/engine/generate.ts";
import type { Grammar } from "../src/engine/grammar.ts";
import type { GrammarState } from "../src/engine/native/grammar-state.ts";
import { chainFor } from "../src/engine/sampling/chain-for.ts";
import { chainDistribution, type Distribution } from "../src/engine/sampling/law.ts";
import { greedy, type SamplingParams } from "../src/engine/sampling/params.ts";
import { ServedModel } from "../src/engine/served-model.ts";
import type { SequencePool } from "../src/engine/sequence-pool.ts";
import { modelPath } from "./gateway-harness.ts";
import { loadSpectrPair, type SpectrPair } from "./spectr-pair.ts";

const CONTEXTS = 2;
const CONTEXT = 256;
const ALPHA = 0.01;

let pair: SpectrPair;
let target: ServedModel;
let draftPool: SequencePool;

before(async () => {
  pair = await loadSpectrPair({ targetPath: modelPath("target"), draftPath: modelPath("draft"), contextSize: CONTEXT, sequences: 10, contexts: CONTEXTS, batchSize: 512 });
  ({ target, draftPool } = pair);
});

after(async () => {
  await pair.dispose();
});

async function generate(sequence: LlamaContextSequence, strategy: DecodingStrategy, prompt: number[], grammar: Grammar, sampling: SamplingParams, maxTokens: number): Promise<number[]> {
  const tokens: number[] = [];
  const generator = generateChoice(target, sequence, strategy, {
    prompt,
    evaluated: 0,
    maxTokens,
    sampling,
    seed: 1,
    stop: [],
    stopTokenIds: new Set(),
    ignoreEos: false,
    logprobs: null,
    grammar: grammar.start(),
    signal: new AbortController().signal,
  });
  for await (const delta of generator) tokens.push(...delta.tokens.map((t) => t.token));
  return tokens;
}

describe("SpecTr under a grammar, temperature 0", () => {
  it("equals plain greedy decoding under a JSON schema grammar, K in {1, 4}, L = 4", async () => {
    const schema = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" }, tags: { type: "array", items: { enum: ["x", "y"] } } } };
    const grammar = await target.grammars.get({ jsonSchema: schema }, "test");
    const prompts = ["A person:", "Once upon a time", "The data is", "JSON:", "Records show that", "In 1900 the"].map((text) => target.tokenize(text));
    let accepted = 0;
    for (const prompt of prompts) {
      const [sequence] = target.pool.take(1);
      const expected = await generate(sequence!, plainDecoding, prompt, grammar, greedy, 40).finally(() => target.pool.give([sequence!]));
      assert.ok(target.detokenize(expected).startsWith("{"));
      for (const k of [1, 4]) {
        await using lease = leaseSpectrSequences(target.pool, draftPool, k);
        const strategy = new SpectrDecoding({ targets: lease.targets, drafts: lease.drafts, policy: fixedSpeculation(k, 4), vocabularySize: target.vocabularySize });
        assert.deepEqual(await generate(lease.targets[0]!, strategy, prompt, grammar, greedy, 40), expected, `K = ${k}: ${target.detokenize(expected)}`);
        accepted += strategy.figures.acceptedTokens;
      }
    }
    assert.ok(accepted > 0, "drafts under the grammar are accepted");
  });
});

describe("SpecTr under a grammar, temperature 1: law of the first two tokens", () => {
  const gbnf = 'root ::= [a-h]+ (" " [a-h]+)*';

  it("head and tail with a 3-token head (chi-square, alpha 0.01)", async (t) => {
    await checkJointLaw(t, { ...greedy, temperature: 1 }, 1500, 3, gbnf);
  });

  it("explicit distributions with top-k 6 (chi-square, alpha 0.01)", async (t) => {
    await checkJointLaw(t, { ...greedy, temperature: 1, topK: 6 }, 1000, undefined, gbnf);
  });
});

/** Tokens the grammar allows next, by llama.cpp's own single-token check (not the engine's reads). */
function allowedTokens(state: GrammarState): Set<number> {
  const allowed = new Set<number>();
  for (let token = 0; token < target.vocabularySize; token++) if (state.allows(token)) allowed.add(token);
  return allowed;
}

async function checkJointLaw(t: { diagnostic(message: string): void }, sampling: SamplingParams, N: number, headSize: number | undefined, gbnf: string): Promise<void> {
  const grammar = await target.grammars.get({ gbnf }, "test");
  const prompt = target.tokenize("The cab had a bad");
  const [sequence] = target.pool.take(1);
  const distribution = async (tokens: number[], history: number[], state: GrammarState): Promise<Distribution> => {
    await sequence!.clearHistory();
    const items = tokens.map((token) => token as Token) as Parameters<LlamaContextSequence["controlledEvaluate"]>[0];
    items[items.length - 1] = [tokens[tokens.length - 1]! as Token, { generateNext: { logits: true } }];
    const results = await sequence!.controlledEvaluate(items);
    const row = new Float64Array(target.vocabularySize).fill(-Infinity);
    const allowed = allowedTokens(state);
    for (const [token, logit] of results[tokens.length - 1]!.next!.logits!) if (allowed.has(token)) row[token] = logit;
    return chainDistribution(row, chainFor(sampling, history, 0));
  };
  // Exact masked joint: pairs for the 8 likeliest first tokens, the others' seconds pooled per first token.
  const start = grammar.start();
  const first = await distribution(prompt, [], start);
  const cells = new Map<string, number>();
  for (const [i, y1] of first.tokens.entries()) {
    if (i >= 8) {
      cells.set(`${y1},*`, first.probs[i]!);
      continue;
    }
    const second = await distribution([...prompt, y1], [y1], start.after([y1]));
    second.tokens.forEach((y2, j) => cells.set(`${y1},${y2}`, first.probs[i]! * second.probs[j]!));
  }
  await target.pool.give([sequence!]);
  const keys = [...cells.keys()];
  const index = new Map(keys.map((key, i) => [key, i]));
  const observed = new Float64Array(keys.length + 1); // last: outside the support
  const figures = { blocks: 0, accepted: 0 };
  const lane = async (laneIndex: number): Promise<void> => {
    const random = createRandom(20261201 + laneIndex);
    await using lease = leaseSpectrSequences(target.pool, draftPool, 5);
    const [empty, ...targets] = lease.targets;
    for (let n = laneIndex; n < N; n += CONTEXTS) {
      const strategy = new SpectrDecoding({ targets, drafts: lease.drafts.slice(0, 4), policy: fixedSpeculation(4, 2), vocabularySize: target.vocabularySize, ...(headSize === undefined ? {} : { headSize }) });
      const state = grammar.start();
      const history: number[] = [];
      let input: number[] = prompt;
      while (history.length < 2) {
        for (const { token } of await strategy.next(input, { target: empty!, sampling, random, logprobs: null, history, grammar: state })) {
          history.push(token);
          state.advance(token);
        }
        input = history.slice(-1);
      }
      observed[index.get(`${history[0]},${history[1]}`) ?? index.get(`${history[0]},*`) ?? keys.length]! += 1;
      figures.blocks += strategy.figures.blocks;
      figures.accepted += strategy.figures.acceptedTokens;
    }
  };
  await Promise.all(Array.from({ length: CONTEXTS }, (_, i) => lane(i)));
  assert.equal(observed[keys.length], 0, "a sample outside the grammar's support");
  const { statistic, df, pValue } = chiSquareTest(observed, [...keys.map((key) => cells.get(key)!), 0]);
  t.diagnostic(`N = ${N}, ${first.tokens.length} allowed first tokens, ${keys.length} cells, chi2 = ${statistic.toFixed(1)}, df = ${df}, p = ${pValue.toPrecision(3)}; accepted tokens per block ${(figures.accepted / figures.blocks).toFixed(3)}`);
  assert.ok(df >= 5, `enough cells to test (df = ${df})`);
  assert.ok(pValue > ALPHA, `chi2 = ${statistic}, df = ${df}, p-value = ${pValue}`);
}
