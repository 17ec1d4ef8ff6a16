/**
 * SpecTr at a real vocabulary size: random-weight llama models with 32k tokens, written for the
 * test (a target and a different draft, so p and q differ and every path of the selection runs),
 * at temperature 1 without truncation: the head-and-tail path with its default 256-token head
 * (the lifted-logit read; test/spectr-engine.test.ts runs a 3-token head on the demo pair). The law
 * of the first two tokens is checked against the exact joint from the target's raw logits
 * (reference law, sampling/law.ts) by chi-square; greedy SpecTr equals plain greedy decoding.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { chiSquareTest } from "../kernels/kseq/chi-square.ts";
import { createRandom } from "../kernels/random.ts";
import { writeRandomLlama } from "../kernels/transformer/random-model.ts";
import { plainDecoding } from "../src/engine/decoding/plain.ts";
import { fixedSpeculation, SpectrDecoding } from "../src/engine/decoding/spectr.ts";
import { leaseSpectrSequences } from "../src/engine/decoding/spectr-sequences.ts";
import type { DecodingStrategy } from "../src/engine/decoding/strategy.ts";
import { chainFor } from "../src/engine/sampling/chain-for.ts";
import { chainDistribution } from "../src/engine/sampling/law.ts";
import { greedy, type SamplingParams } from "../src/engine/sampling/params.ts";
import { ServedModel } from "../src/engine/served-model.ts";
import type { SequencePool } from "../src/engine/sequence-pool.ts";
import { loadSpectrPair, type SpectrPair } from "./spectr-pair.ts";

const VOCAB = 32_768;
const TOP = 6;

let pair: SpectrPair;
let directory: string;
let target: ServedModel;
let draftPool: SequencePool;
let prompt: number[];

before(async () => {
  directory = mkdtempSync(join(tmpdir(), "spectr-vocab-"));
  // logitStd 2: flatter than the default, so the first two tokens spread over many cells.
  writeRandomLlama(join(directory, "target.gguf"), { vocabSize: VOCAB, seed: 11, logitStd: 2.5 });
  writeRandomLlama(join(directory, "draft.gguf"), { vocabSize: VOCAB, seed: 11, logitStd: 2.2 });
  pair = await loadSpectrPair({ targetPath: join(directory, "target.gguf"), draftPath: join(directory, "draft.gguf"), contextSize: 128, sequences: 5, contexts: 1, batchSize: 512 });
  ({ target, draftPool } = pair);
  prompt = target.tokenize("The President said that");
});

after(async () => {
  await pair.dispose();
  rmSync(directory, { recursive: true, force: true });
});

/** The target's law after `tokens` (reference, from the whole row of raw logits). */
async function law(sequence: LlamaContextSequence, tokens: number[], sampling: SamplingParams, history: number[]) {
  await sequence.clearHistory();
  const items = tokens.map((token) => token as Token) as Parameters<LlamaContextSequence["controlledEvaluate"]>[0];
  items[items.length - 1] = [tokens[tokens.length - 1]! as Token, { generateNext: { logits: true } }];
  const results = await sequence.controlledEvaluate(items);
  const row = new Float64Array(VOCAB);
  for (const [token, logit] of results[tokens.length - 1]!.next!.logits!) row[token] = logit;
  return chainDistribution(row, chainFor(sampling, history, 0));
}

describe(`SpecTr with a ${VOCAB}-token vocabulary`, () => {
  it("greedy SpecTr (K = 2, L = 4) equals plain greedy decoding", async () => {
    const decode = async (make: (targets: LlamaContextSequence[], drafts: LlamaContextSequence[]) => DecodingStrategy, k: number): Promise<number[]> => {
      await using lease = leaseSpectrSequences(target.pool, draftPool, k);
      const chosen = make([...lease.targets], [...lease.drafts]);
      const state = { target: lease.targets[0]!, sampling: greedy, random: createRandom(1), logprobs: null, history: [] as number[] };
      let input: number[] = prompt;
      while (state.history.length < 24) {
        state.history.push(...(await chosen.next(input, state)).map((d) => d.token));
        input = state.history.slice(-1);
      }
      return state.history.slice(0, 24);
    };
    const plain = await decode(() => plainDecoding, 1);
    const speculative = await decode((targets, drafts) => new SpectrDecoding({ targets, drafts, policy: fixedSpeculation(2, 4), vocabularySize: VOCAB }), 2);
    assert.deepEqual(speculative, plain);
  });

  for (const headSize of [256]) {
    it(`temperature 1, head of ${headSize}: the first two tokens follow the target's law (chi-square, alpha 0.01)`, async (t) => {
      const N = 4000;
      const sampling: SamplingParams = { ...greedy, temperature: 1 };
      const [sequence] = target.pool.take(1);
      const first = await law(sequence!, prompt, sampling, []);
      // Cells: (y1, y2) among the TOP likeliest of each, (y1, other) per such y1, and any other y1.
      const cells = new Map<string, number>();
      let rest = 1;
      for (const [i, y1] of first.tokens.slice(0, TOP).entries()) {
        const second = await law(sequence!, [...prompt, y1], sampling, [y1]);
        let covered = 0;
        second.tokens.slice(0, TOP).forEach((y2, j) => {
          cells.set(`${y1},${y2}`, first.probs[i]! * second.probs[j]!);
          covered += second.probs[j]!;
        });
        cells.set(`${y1},*`, first.probs[i]! * (1 - covered));
        rest -= first.probs[i]!;
      }
      cells.set("*", rest);
      await target.pool.give([sequence!]);
      const keys = [...cells.keys()];
      const index = new Map(keys.map((key, i) => [key, i]));
      const observed = new Float64Array(keys.length);
      const random = createRandom(31 + headSize);
      await using lease = leaseSpectrSequences(target.pool, draftPool, 5);
      const [empty, ...targets] = lease.targets;
      let blocks = 0;
      for (let n = 0; n < N; n++) {
        const strategy = new SpectrDecoding({ targets, drafts: lease.drafts.slice(0, 4), policy: fixedSpeculation(4, 2), vocabularySize: VOCAB, headSize });
        const state = { target: empty!, sampling, random, logprobs: null, history: [] as number[] };
        let input: number[] = prompt;
        while (state.history.length < 2) {
          state.history.push(...(await strategy.next(input, state)).map((d) => d.token));
          input = state.history.slice(-1);
        }
        const [y1, y2] = state.history;
        const cell = index.get(`${y1},${y2}`) ?? index.get(`${y1},*`) ?? index.get("*")!;
        observed[cell]! += 1;
        blocks += strategy.figures.blocks;
      }
      const { statistic, df, pValue } = chiSquareTest(observed, keys.map((key) => cells.get(key)!));
      t.diagnostic(`N = ${N}, ${keys.length} cells, chi2 = ${statistic.toFixed(1)}, df = ${df}, p = ${pValue.toPrecision(3)}, blocks per sample ${(blocks / N).toFixed(2)}`);
      assert.ok(pValue > 0.01, `chi2 = ${statistic}, df = ${df}, p = ${pValue}`);
    });
  }
});
