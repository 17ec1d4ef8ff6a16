/**
 * LoRA fine-tuning (kernels/finetune/) on a tiny random llama: JSONL parsing, encoding with
 * reply-only loss, the LoRA gradient against finite differences, and training that is
 * seeded, learns, stops early and cancels within a step.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { parseDataset, formatLineErrors } from "../kernels/finetune/dataset.ts";
import { encodeExample, NO_LOSS, replyExample, tooLong, type TrainingFormatter, type TokenizedExample } from "../kernels/finetune/encode.ts";
import { LoraState } from "../kernels/finetune/lora-state.ts";
import { makeBatch, replyCrossEntropy } from "../kernels/finetune/loss.ts";
import { finetune, TrainingCancelled, type FinetuneOptions } from "../kernels/finetune/trainer.ts";
import { createRandom } from "../kernels/random.ts";
import { initBackend, tf } from "../kernels/tfjs/backend.ts";
import type { LlamaConfig } from "../kernels/transformer/config.ts";
import { forward } from "../kernels/transformer/forward.ts";
import { initWeights, type LlamaWeights } from "../kernels/transformer/weights.ts";

const config: LlamaConfig = { vocabSize: 40, dim: 16, layers: 2, heads: 4, kvHeads: 2, ffnDim: 32, contextLength: 64, ropeBase: 10000, normEps: 1e-5 };

/** Characters as tokens: enough to check what gets loss and how long examples are. */
const formatter: TrainingFormatter = {
  chatPrompt: (messages) => [1, ...messages.flatMap((m) => [2, ...codes(m.content)]), 3],
  completionPrompt: (prompt) => [1, ...codes(prompt)],
  chatReply: (content) => [...codes(content), 0],
  completionReply: (text) => [...codes(text), 0],
};

/** A template that writes an assistant turn in later prompts as the model generated it (header 3, the reply, no end token). */
const continuing: TrainingFormatter = {
  ...formatter,
  chatPrompt: (messages) => [1, ...messages.flatMap((m) => (m.role === "assistant" ? [3, ...codes(m.content)] : [2, ...codes(m.content)])), 3],
};

function codes(text: string): number[] {
  return [...text].map((c) => 4 + (c.charCodeAt(0) % 36));
}

describe("fine-tuning data", () => {
  it("reads both JSONL forms and names every bad line", () => {
    const text = [
      JSON.stringify({ messages: [{ role: "system", content: "s" }, { role: "user", content: "hi" }, { role: "assistant", content: "yo" }] }),
      JSON.stringify({ prompt: "a", completion: "b" }),
      "{not json",
      "",
      JSON.stringify({ messages: [{ role: "user", content: "no reply" }] }),
      JSON.stringify({ prompt: "a" }),
      JSON.stringify({ messages: [{ role: "robot", content: "x" }, { role: "assistant", content: "y" }] }),
    ].join("\n");
    const { examples, errors } = parseDataset(text);
    assert.deepEqual(examples.map((e) => e.kind), ["chat", "completion"]);
    assert.deepEqual(errors.map((e) => e.line), [3, 5, 6, 7]);
    assert.match(formatLineErrors(errors), /line 3: not valid JSON; line 5: .*assistant/);
    assert.match(formatLineErrors(errors, 2), /and 2 more$/);
  });

  it("puts loss on the reply only, the prompt formatted as serving formats it", () => {
    const [chat, plain] = parseDataset(
      [JSON.stringify({ messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "ok" }] }), JSON.stringify({ prompt: "ab", completion: "c" })].join("\n"),
    ).examples;
    const [encoded] = encodeExample(chat!, formatter);
    assert.deepEqual(lossTerms(encoded!), [{ context: formatter.chatPrompt([{ role: "user", content: "hi" }]), reply: formatter.chatReply("ok") }]);
    const batch = makeBatch([encoded!, ...encodeExample(plain!, formatter)]);
    // Weights mark the positions whose target is a reply token: 3 for "ok"+end, 2 for "c"+end.
    assert.equal(batch.replyTokens, 5);
    assert.deepEqual(tooLong([encoded!, replyExample(new Array(98).fill(1), [2, 0])], 64), [{ index: 1, tokens: 100 }]);
  });

  it("trains every assistant message but those of weight 0, each after the conversation before it", () => {
    const messages = [
      { role: "system", content: "s" },
      { role: "user", content: "q1" },
      { role: "assistant", content: "a1" },
      { role: "user", content: "q2" },
      { role: "assistant", content: "a2", weight: 0 },
      { role: "user", content: "q3" },
      { role: "assistant", content: "a3", weight: 1 },
    ] as const;
    const { examples, errors } = parseDataset(JSON.stringify({ messages }));
    assert.deepEqual(errors, []);
    // What serving asks the model for at each trained turn: its prompt, then the reply.
    const expected = [2, 6].map((i) => ({ context: formatter.chatPrompt(messages.slice(0, i)), reply: formatter.chatReply(messages[i]!.content) }));
    // This template writes an assistant turn differently in later prompts: one sequence per reply.
    const separate = encodeExample(examples[0]!, formatter);
    assert.equal(separate.length, 2);
    assert.deepEqual(separate.flatMap(lossTerms), expected);
    // One that writes it as generated (header 3, then the reply): both replies share one sequence.
    const [shared, ...rest] = encodeExample(examples[0]!, continuing);
    assert.equal(rest.length, 0);
    assert.deepEqual(lossTerms(shared!), [2, 6].map((i) => ({ context: continuing.chatPrompt(messages.slice(0, i)), reply: continuing.chatReply(messages[i]!.content) })));
  });

  it("refuses bad weights and chats with nothing to train, naming the line", () => {
    const chat = (messages: unknown[]): string => JSON.stringify({ messages });
    const { errors } = parseDataset(
      [
        chat([{ role: "user", content: "q" }, { role: "assistant", content: "a", weight: 1 }]),
        chat([{ role: "user", content: "q" }, { role: "assistant", content: "a", weight: 0.5 }]),
        chat([{ role: "user", content: "q", weight: 1 }, { role: "assistant", content: "a" }]),
        chat([{ role: "user", content: "q" }, { role: "assistant", content: "a", weight: 0 }]),
        chat([{ role: "user", content: "q" }]),
      ].join("\n"),
    );
    assert.deepEqual(errors, [
      { line: 2, message: "messages.1.weight: must be 0 or 1" },
      { line: 3, message: "messages.0.weight: only assistant messages take a weight" },
      { line: 4, message: "every assistant message has weight 0: nothing to train on" },
      { line: 5, message: "no assistant message (the assistant's replies are what is trained)" },
    ]);
  });

  it("a shared sequence's loss is exactly the separate sequences' loss", async () => {
    await initBackend();
    const weights = initWeights(config, 4);
    const messages = [
      { role: "user", content: "q1" },
      { role: "assistant", content: "a1a" },
      { role: "user", content: "q2" },
      { role: "assistant", content: "a2" },
    ] as const;
    const [shared] = encodeExample({ kind: "chat", messages: [...messages] }, continuing);
    const separate = [1, 3].map((i) => replyExample(continuing.chatPrompt(messages.slice(0, i)), continuing.chatReply(messages[i]!.content)));
    const loss = (batch: ReturnType<typeof makeBatch>): number =>
      tf.tidy(() => {
        const inputs = tf.tensor2d(batch.inputs, [batch.batchSize, batch.length], "int32");
        const targets = tf.tensor2d(batch.targets, [batch.batchSize, batch.length], "int32");
        const mask = tf.tensor2d(batch.weights, [batch.batchSize, batch.length]);
        return replyCrossEntropy(forward(config, weights, inputs).logits, targets, mask).dataSync()[0]!;
      });
    const one = makeBatch([shared!]);
    const two = makeBatch(separate);
    assert.equal(one.replyTokens, two.replyTokens);
    assert.ok(Math.abs(loss(one) - loss(two)) < 1e-5, `${loss(one)} vs ${loss(two)}`);
    tf.dispose(Object.values(weights));
  });
});

/** Each reply's loss terms as (what the model sees before the reply, the reply it should produce). */
function lossTerms(example: TokenizedExample): { context: number[]; reply: number[] }[] {
  const terms: { context: number[]; reply: number[] }[] = [];
  example.labels.forEach((label, p) => {
    if (label === NO_LOSS) return;
    const open = terms.at(-1);
    if (open !== undefined && open.context.length + open.reply.length - 1 === p) open.reply.push(label);
    else terms.push({ context: example.tokens.slice(0, p + 1), reply: [label] });
  });
  return terms;
}

describe("LoRA training on a tiny llama", () => {
  let weights: LlamaWeights;
  const random = createRandom(7);
  /** A learnable task: the reply repeats the prompt's last character three times. */
  const examples: TokenizedExample[] = Array.from({ length: 24 }, () => {
    const prompt = Array.from({ length: 6 }, () => 4 + random.int(8));
    const last = prompt.at(-1)!;
    return replyExample([1, ...prompt, 3], [last, last, last, 0]);
  });
  const options: FinetuneOptions = {
    lora: { rank: 4, alpha: 8, targets: ["attn_q", "attn_v", "ffn_down"] },
    dropout: 0,
    optimizer: "rite",
    learningRate: 0.1,
    epochs: 6,
    batchSize: 4,
    seed: 11,
    validationFraction: 0.25,
    evalEvery: 2,
    patience: 0,
  };

  before(async () => {
    await initBackend();
    weights = initWeights(config, 3);
    // A head of N(0, 1) rather than N(0, 0.02): after the final RMSNorm, the small head of a
    // fresh model leaves every logit within ±0.1 of the others, and nothing could be learnt.
    const head = weights.output;
    weights.output = tf.mul(head, 50);
    head.dispose();
  });

  it("the LoRA gradient matches finite differences", () => {
    const state = new LoraState(config, { rank: 2, alpha: 4, targets: ["attn_v", "ffn_up"] }, 5);
    const r = createRandom(9);
    state.assign(state.factors.map(({ left, right }) => ({
      left: tf.tensor2d(Float32Array.from({ length: left.size }, () => r.normal() * 0.3), left.shape),
      right: tf.tensor2d(right.dataSync().slice(), right.shape),
    })));
    const batch = makeBatch(examples.slice(0, 2));
    const loss = (): tf.Scalar => {
      const inputs = tf.tensor2d(batch.inputs, [batch.batchSize, batch.length], "int32");
      const targets = tf.tensor2d(batch.targets, [batch.batchSize, batch.length], "int32");
      const mask = tf.tensor2d(batch.weights, [batch.batchSize, batch.length]);
      return replyCrossEntropy(forward(config, weights, inputs, { projectionDelta: state.delta() }).logits, targets, mask);
    };
    const { grads } = tf.variableGrads(loss, state.variables);
    let checked = 0;
    for (const variable of state.variables) {
      const analytic = grads[variable.name]!.dataSync();
      const values = variable.dataSync().slice();
      // The largest few entries: finite differences in float32 resolve those well.
      const indices = [...analytic.keys()].sort((a, b) => Math.abs(analytic[b]!) - Math.abs(analytic[a]!)).slice(0, 3);
      for (const i of indices) {
        const at = (delta: number): number => {
          const moved = values.slice();
          moved[i]! += delta;
          variable.assign(tf.tensor(moved, variable.shape));
          return tf.tidy(() => loss().dataSync()[0]!);
        };
        const h = 1e-2;
        const numeric = (at(h) - at(-h)) / (2 * h);
        variable.assign(tf.tensor(values, variable.shape));
        assert.ok(Math.abs(numeric - analytic[i]!) <= 2e-2 * Math.abs(analytic[i]!) + 2e-4, `${variable.name}[${i}]: ${analytic[i]} vs ${numeric}`);
        checked++;
      }
    }
    assert.equal(checked, state.variables.length * 3);
    state.dispose();
  });

  for (const optimizer of ["rite", "adam"] as const) {
    it(`${optimizer}: lowers the validation loss, reproducibly from the seed, without leaking tensors`, async () => {
      const before = tf.memory().numTensors;
      const first = await finetune(config, weights, examples, undefined, { ...options, optimizer }, "t");
      const again = await finetune(config, weights, examples, undefined, { ...options, optimizer }, "t");
      assert.equal(tf.memory().numTensors, before);
      assert.ok(first.bestValidationLoss! < 0.8 * first.baseValidationLoss!, `${first.baseValidationLoss} -> ${first.bestValidationLoss}`);
      assert.deepEqual(again.history.map((p) => p.trainLoss), first.history.map((p) => p.trainLoss));
      assert.deepEqual(again.adapter.weights[0]!.b, first.adapter.weights[0]!.b);
      assert.equal(first.adapter.weights.length, config.layers * 3);
      const last = first.history.at(-1)!;
      assert.equal(last.step, last.totalSteps);
      assert.ok(last.tokensPerSecond > 0 && last.etaSeconds === 0 && last.validationLoss !== undefined);
    });
  }

  it("stops early when the validation loss stops improving, keeping the best adapter", async () => {
    const result = await finetune(config, weights, examples, undefined, { ...options, learningRate: 3, evalEvery: 1, patience: 2, epochs: 20 }, "t");
    assert.ok(result.stoppedEarly);
    assert.ok(result.steps < 20 * 5);
    const best = Math.min(...result.history.flatMap((p) => (p.validationLoss === undefined ? [] : [p.validationLoss])));
    assert.equal(result.bestValidationLoss, Math.min(best, result.baseValidationLoss!));
  });

  it("cancels within one optimizer step", async () => {
    const controller = new AbortController();
    let steps = 0;
    await assert.rejects(
      finetune(config, weights, examples, undefined, options, "t", {
        signal: controller.signal,
        onProgress: (progress) => {
          steps = progress.step;
          if (progress.step === 2) controller.abort();
        },
      }),
      TrainingCancelled,
    );
    assert.equal(steps, 2);
  });
});
