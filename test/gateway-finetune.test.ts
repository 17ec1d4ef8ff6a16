/**
 * Fine-tuning through the official `openai` SDK against a real gateway (in-process queue, one
 * in-process worker, the committed target model): files and jobs in OpenAI's shapes, bad
 * input refused whole with nothing left behind, a job that trains, reports progress, serves
 * its adapter (whose replies move toward the training targets) and a cancel that lands
 * within one optimizer step.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI, { toFile } from "openai";
import { encodeExample, NO_LOSS } from "../kernels/finetune/encode.ts";
import { trainingFormatter } from "../src/engine/training-formatter.ts";
import { startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { conforms } from "./openapi-validator.ts";

const REPLY = "Zebra zebra zebra.";
const QUESTIONS = ["What is the word?", "Say the word.", "Tell me the word.", "Which word?", "The word, please.", "Give me the word.", "Word?", "What word is it?", "Name the word.", "Your word?"];

function jsonl(rows: unknown[]): string {
  return rows.map((row) => JSON.stringify(row)).join("\n") + "\n";
}

/** Two turns each: the word is the first reply; the second reply, of weight 0, is context only and never trained. */
const trainingFile = jsonl(
  QUESTIONS.map((question) => ({
    messages: [
      { role: "system", content: "Answer with the word." },
      { role: "user", content: question },
      { role: "assistant", content: REPLY },
      { role: "user", content: "Thanks." },
      { role: "assistant", content: "You are welcome.", weight: 0 },
    ],
  })),
);

let gateway: TestGateway;
let client: OpenAI;

before(async () => {
  gateway = await startTestGateway({ MAX_UPLOAD_BYTES: "20000", ADAPTER_SYNC_MS: "50", FINETUNE_MAX_STEPS: "200" });
  client = gateway.client;
});

after(async () => {
  await gateway?.close();
});

async function upload(text: string, name = "train.jsonl"): Promise<OpenAI.FileObject> {
  return client.files.create({ file: await toFile(Buffer.from(text), name), purpose: "fine-tune" });
}

async function expectStatus(promise: Promise<unknown>, status: number, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof OpenAI.APIError, String(error));
    assert.equal(error.status, status, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

async function finished(id: string): Promise<OpenAI.FineTuning.FineTuningJob> {
  for (;;) {
    const job = await client.fineTuning.jobs.retrieve(id);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Our hyperparameters ride in OpenAI's object; the SDK's type does not know them. */
function supervised(hyperparameters: Record<string, unknown>): OpenAI.FineTuning.JobCreateParams["method"] {
  return { type: "supervised", supervised: { hyperparameters: hyperparameters as never } };
}

describe("files", () => {
  it("uploads, lists, retrieves, returns and deletes a JSONL file", async () => {
    const file = await upload(trainingFile);
    assert.equal(file.object, "file");
    assert.equal(file.purpose, "fine-tune");
    assert.equal(file.bytes, Buffer.byteLength(trainingFile));
    assert.equal((await client.files.retrieve(file.id)).id, file.id);
    assert.ok((await client.files.list()).data.some((listed) => listed.id === file.id));
    assert.equal(await (await client.files.content(file.id)).text(), trainingFile);
    assert.deepEqual(await client.files.delete(file.id), { id: file.id, object: "file", deleted: true });
    await expectStatus(client.files.retrieve(file.id), 404, /No such File/);
  });

  it("pages with after, and a cursor naming a deleted file is a 400, not the first page again", async () => {
    const uploaded = [await upload(trainingFile), await upload(trainingFile), await upload(trainingFile)];
    const ids = new Set(uploaded.map((file) => file.id));
    const ours = async (after?: string): Promise<string[]> => (await client.files.list({ limit: 100, ...(after === undefined ? {} : { after }) })).data.map((file) => file.id).filter((id) => ids.has(id));
    const all = await ours();
    assert.equal(all.length, 3);
    assert.deepEqual(await ours(all[0]), all.slice(1));
    await client.files.delete(all[0]!);
    await expectStatus(client.files.list({ after: all[0] }), 400, /after names no item/);
    await expectStatus(client.fineTuning.jobs.list({ after: "ftjob-none" }), 400, /after names no item/);
    for (const id of all.slice(1)) await client.files.delete(id);
  });

  it("answers as openapi.yaml documents", async () => {
    const form = new FormData();
    form.append("purpose", "fine-tune");
    form.append("file", new Blob([trainingFile]), "train.jsonl");
    const uploaded = await fetch(`${gateway.url}/v1/files`, { method: "POST", body: form });
    const { id } = (await uploaded.clone().json()) as { id: string };
    await conforms("/v1/files", "post", uploaded);
    await conforms("/v1/files", "get", await fetch(`${gateway.url}/v1/files`));
    await conforms("/v1/files/{file_id}", "get", await fetch(`${gateway.url}/v1/files/${id}`));
    await conforms("/v1/fine_tuning/jobs", "get", await fetch(`${gateway.url}/v1/fine_tuning/jobs`));
    await conforms("/v1/files/{file_id}", "delete", await fetch(`${gateway.url}/v1/files/${id}`, { method: "DELETE" }));
  });

  it("refuses malformed lines (naming them), empty and oversized files, and other purposes, storing nothing", async () => {
    const before = (await client.files.list()).data.length;
    const badWeight = { messages: [{ role: "user", content: "q" }, { role: "assistant", content: "a", weight: 2 }] };
    const bad = [trainingFile.split("\n")[0], "{oops", JSON.stringify({ prompt: "x" }), JSON.stringify({ messages: [{ role: "user", content: "no reply" }] }), JSON.stringify(badWeight)].join("\n");
    await expectStatus(upload(bad), 400, /4 bad lines.*line 2: not valid JSON.*line 3.*line 4.*line 5: messages\.1\.weight: must be 0 or 1/);
    await expectStatus(upload(""), 400, /empty/);
    await expectStatus(upload("x".repeat(20_001)), 413, /MAX_UPLOAD_BYTES/);
    await expectStatus(client.files.create({ file: await toFile(Buffer.from(trainingFile), "a.jsonl"), purpose: "assistants" }), 400, /fine-tune/);
    assert.equal((await client.files.list()).data.length, before);
  });
});

describe("fine-tuning jobs", () => {
  it("tokenizes every trained reply of a chat as serving renders the conversation before it", () => {
    const messages = [
      { role: "system", content: "Answer with the word." },
      { role: "user", content: "Which word?" },
      { role: "assistant", content: REPLY },
      { role: "user", content: "Again?" },
      { role: "assistant", content: "Zebra again." },
    ] as const;
    const served = gateway.server.gateway.engine!.get("target")!;
    const formatter = trainingFormatter(served);
    const sequences = encodeExample({ kind: "chat", messages: [...messages] }, formatter);
    // The default template writes earlier replies into later prompts token for token: one sequence.
    assert.equal(sequences.length, 1);
    const { tokens, labels } = sequences[0]!;
    // Each trained reply is predicted right after its turn's serving prompt; nothing else carries loss.
    const expected = new Array<number>(tokens.length).fill(NO_LOSS);
    for (const turn of [2, 4]) {
      const prompt = served.chatRenderer.render(messages.slice(0, turn)).tokens;
      assert.deepEqual(tokens.slice(0, prompt.length), prompt);
      formatter.chatReply(messages[turn]!.content).forEach((token, k) => (expected[prompt.length - 1 + k] = token));
    }
    assert.deepEqual(labels, expected);
  });

  it("refuses unknown models and files, absurd hyperparameters and too-long examples with a 400, creating no job", async () => {
    const file = await upload(trainingFile);
    const long = await upload(jsonl([{ prompt: "word ".repeat(600), completion: "x" }, { prompt: "a", completion: "b" }]));
    const jobsBefore = (await client.fineTuning.jobs.list()).data.length;
    await expectStatus(client.fineTuning.jobs.create({ model: "gpt-4o", training_file: file.id }), 400, /gpt-4o/);
    await expectStatus(client.fineTuning.jobs.create({ model: "target", training_file: "file-missing" }), 400, /No such File/);
    await expectStatus(client.fineTuning.jobs.create({ model: "target", training_file: file.id, method: supervised({ n_epochs: 1000 }) }), 400, /n_epochs/);
    await expectStatus(client.fineTuning.jobs.create({ model: "target", training_file: file.id, method: supervised({ rank: 0 }) }), 400, /rank/);
    await expectStatus(client.fineTuning.jobs.create({ model: "target", training_file: file.id, method: supervised({ targets: ["attn_x"] }) }), 400, /targets/);
    await expectStatus(client.fineTuning.jobs.create({ model: "target", training_file: file.id, method: supervised({ n_epochs: 50, batch_size: 1 }) }), 400, /FINETUNE_MAX_STEPS/);
    await expectStatus(client.fineTuning.jobs.create({ model: "target", training_file: long.id }), 400, /context of \d+ tokens: line 1 \(\d+ tokens\)/);
    assert.equal((await client.fineTuning.jobs.list()).data.length, jobsBefore);
  });

  it("trains through the SDK: events with progress, succeeded, served, and replies move toward the targets", async () => {
    const file = await upload(trainingFile);
    const created = await client.fineTuning.jobs.create({
      model: "target",
      training_file: file.id,
      suffix: "zebra",
      seed: 7,
      method: supervised({ n_epochs: 3, batch_size: 3, learning_rate_multiplier: 10, rank: 4, targets: ["attn_q", "attn_v", "ffn_up"] }),
    });
    assert.equal(created.object, "fine_tuning.job");
    assert.equal(created.status, "queued");
    assert.equal(created.hyperparameters.n_epochs, 3);
    const job = await finished(created.id);
    assert.equal(job.status, "succeeded", JSON.stringify(job.error));
    assert.match(job.fine_tuned_model!, /^ft-target-zebra-[0-9a-f]{8}$/);
    assert.ok(job.trained_tokens! > 0 && job.finished_at! >= job.created_at);

    const events = (await client.fineTuning.jobs.listEvents(job.id, { limit: 100 })).data;
    const metrics = events.filter((event) => event.type === "metrics").map((event) => event.data as Record<string, number | null>);
    assert.equal(metrics.length, 9);
    for (const data of metrics) {
      for (const key of ["step", "total_steps", "train_loss", "tokens_per_second", "eta_seconds"]) assert.equal(typeof data[key], "number", key);
    }
    assert.ok(metrics.some((data) => typeof data.valid_loss === "number"));
    assert.match(events[0]!.message, /successfully completed/);
    await conforms("/v1/fine_tuning/jobs/{fine_tuning_job_id}", "get", await fetch(`${gateway.url}/v1/fine_tuning/jobs/${job.id}`));
    await conforms("/v1/fine_tuning/jobs/{fine_tuning_job_id}/events", "get", await fetch(`${gateway.url}/v1/fine_tuning/jobs/${job.id}/events`));

    // Served within the adapter sync interval, under the id the job names.
    const model = job.fine_tuned_model!;
    for (let i = 0; i < 100 && !(await client.models.list()).data.some((card) => card.id === model); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok((await client.models.list()).data.some((card) => card.id === model));
    const ask = (id: string) => client.chat.completions.create({ model: id, messages: [{ role: "system", content: "Answer with the word." }, { role: "user", content: QUESTIONS[0]! }], max_tokens: 8, temperature: 0 });
    const [tuned, base] = await Promise.all([ask(model), ask("target")]);
    const tunedText = tuned.choices[0]!.message.content ?? "";
    const baseText = base.choices[0]!.message.content ?? "";
    console.log(`  base: ${JSON.stringify(baseText)}; fine-tuned: ${JSON.stringify(tunedText)}`);
    assert.match(tunedText, /zebra/i);
    assert.doesNotMatch(baseText, /zebra/i);

    // The results file: one CSV row per step, the same figures as the metrics events.
    assert.equal(job.result_files.length, 1);
    const results = await client.files.retrieve(job.result_files[0]!);
    assert.equal(results.purpose, "fine-tune-results");
    assert.ok((await client.files.list({ purpose: "fine-tune-results" })).data.some((file) => file.id === results.id));
    const csv = await client.files.content(results.id);
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    const [header, ...rows] = (await csv.text()).trim().split("\n").map((line) => line.split(","));
    assert.deepEqual(header, ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"]);
    const byStep = new Map(metrics.map((data) => [data.step, data]));
    assert.deepEqual(rows.map((row) => Number(row[0])), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const [step, trainLoss, trainAccuracy, validLoss, validAccuracy] of rows) {
      const data = byStep.get(Number(step))!;
      assert.ok(Math.abs(Number(trainLoss) - data.train_loss!) < 1e-4 * data.train_loss!, `step ${step}: ${trainLoss} vs ${data.train_loss}`);
      assert.ok(Number(trainAccuracy) >= 0 && Number(trainAccuracy) <= 1 && Number(trainAccuracy) === Number(data.train_mean_token_accuracy!.toPrecision(6)));
      assert.equal(validLoss === "", data.valid_loss === null, `step ${step}`);
      assert.equal(validAccuracy === "", data.valid_loss === null, `step ${step}`);
    }
    // Training moved the replies toward the targets: the last steps predict more of them than the first.
    assert.ok(Number(rows.at(-1)![2]) > Number(rows[0]![2]), `train_accuracy ${rows[0]![2]} -> ${rows.at(-1)![2]}`);
    await expectStatus(client.fineTuning.jobs.create({ model: "target", training_file: results.id }), 400, /purpose fine-tune-results/);

    // Checkpoints, highest step first: the served adapter at the step it is from, and the
    // adapters of the three epoch ends (steps 3, 6, 9), each served under a name of its own.
    const checkpoints: OpenAI.FineTuning.Jobs.FineTuningJobCheckpoint[] = [];
    for await (const checkpoint of client.fineTuning.jobs.checkpoints.list(job.id, { limit: 1 })) checkpoints.push(checkpoint);
    const steps = checkpoints.map((checkpoint) => checkpoint.step_number);
    assert.deepEqual(steps, [...new Set(steps)].sort((a, b) => b - a));
    for (const step of [3, 6, 9]) assert.ok(steps.includes(step), `no checkpoint at the end of the epoch at step ${step}: ${steps}`);
    const served = checkpoints.filter((checkpoint) => checkpoint.fine_tuned_model_checkpoint === model);
    assert.equal(served.length, 1);
    const [checkpoint] = served;
    // Published at its best validation loss: the checkpoint's is the lowest evaluated.
    const evaluated = metrics.flatMap((data) => (data.valid_loss === null ? [] : [data.valid_loss!]));
    assert.equal(checkpoint!.metrics.valid_loss, Math.min(...evaluated));
    for (const saved of checkpoints) {
      assert.equal(saved.object, "fine_tuning.job.checkpoint");
      assert.match(saved.id, /^ftckpt_/);
      assert.equal(saved.fine_tuning_job_id, job.id);
      assert.equal(saved.metrics.step, saved.step_number);
      assert.equal(saved.metrics.train_loss, byStep.get(saved.step_number)!.train_loss);
      if (saved !== checkpoint) assert.equal(saved.fine_tuned_model_checkpoint, `${model}-step-${saved.step_number}`);
    }
    const epochModel = checkpoints.find((saved) => saved.step_number === 3 && saved !== checkpoint)?.fine_tuned_model_checkpoint;
    if (epochModel !== undefined) {
      for (let i = 0; i < 100 && !(await client.models.list()).data.some((card) => card.id === epochModel); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal((await ask(epochModel)).model, epochModel);
    }
    assert.equal((await client.fineTuning.jobs.checkpoints.list(job.id, { after: checkpoints.at(-1)!.id })).data.length, 0);
    await conforms("/v1/fine_tuning/jobs/{fine_tuning_job_id}/checkpoints", "get", await fetch(`${gateway.url}/v1/fine_tuning/jobs/${job.id}/checkpoints`));
    await conforms("/v1/files/{file_id}", "get", await fetch(`${gateway.url}/v1/files/${results.id}`));
    await expectStatus(client.fineTuning.jobs.checkpoints.list("ftjob-missing"), 404, /No such fine-tuning job/);
  });

  it("cancels a running job within one optimizer step", async () => {
    const file = await upload(trainingFile);
    const created = await client.fineTuning.jobs.create({ model: "target", training_file: file.id, method: supervised({ n_epochs: 20, batch_size: 1, rank: 2 }) });
    const steps = async (): Promise<number> => Math.max(0, ...(await client.fineTuning.jobs.listEvents(created.id, { limit: 100 })).data.map((event) => Number((event.data as { step?: number } | null)?.step ?? 0)));
    while ((await steps()) < 1) await new Promise((resolve) => setTimeout(resolve, 100));
    const atCancel = await steps();
    const answer = await client.fineTuning.jobs.cancel(created.id);
    assert.equal(answer.status, "cancelled");
    const job = await finished(created.id);
    assert.equal(job.status, "cancelled");
    assert.ok((await steps()) <= atCancel + 1, `trained on after the cancel: ${atCancel} -> ${await steps()}`);
    assert.equal(job.fine_tuned_model, null);
    assert.deepEqual(job.result_files, []);
    assert.equal((await client.fineTuning.jobs.checkpoints.list(created.id)).data.length, 0);
    await expectStatus(client.fineTuning.jobs.cancel(created.id), 400, /cancelled/);
  });
});
