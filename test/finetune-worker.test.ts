/**
 * Fine-tuning across processes on a real redis-server: two gateway replicas that train
 * nothing themselves (WORKERS=0) and `npm run worker`'s entry point as separate processes.
 * The adapter a worker trains is served by both replicas; a worker killed mid-job leaves
 * the job to be retried by another worker (or failed with a reason), never `running`.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, it } from "node:test";
import OpenAI, { toFile } from "openai";
import { modelPath, startTestGateway, type TestGateway } from "./gateway-harness.ts";
import { startControlledRedis, type ControlledRedis } from "./redis-harness.ts";

const REPLY = "Zebra zebra zebra.";
const QUESTIONS = ["What is the word?", "Say the word.", "Tell me the word.", "Which word?", "The word, please.", "Give me the word.", "Word?", "What word is it?"];
const trainingFile = QUESTIONS.map((question) => JSON.stringify({ messages: [{ role: "user", content: question }, { role: "assistant", content: REPLY }] })).join("\n");

interface WorkerProcess {
  child: ChildProcess;
  exit: Promise<number | null>;
  lines: string[];
}

let redis: ControlledRedis;
let replicas: TestGateway[] = [];
const workers: WorkerProcess[] = [];

async function startWorker(): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/worker-main.ts"], {
    env: { ...process.env, REDIS_URL: redis.url, TARGET_MODEL: modelPath("target"), TARGET_MODEL_ID: "target", LOG_LEVEL: "info", FINETUNE_LOCK_MS: "1500" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      lines.push(line);
      if (line.includes("fine-tuning worker ready")) resolve();
    });
    void exit.then((code) => reject(new Error(`the worker exited with ${code}: ${lines.join("\n")}`)));
  });
  const worker = { child, exit, lines };
  workers.push(worker);
  return worker;
}

async function finished(client: OpenAI, id: string): Promise<OpenAI.FineTuning.FineTuningJob> {
  for (;;) {
    const job = await client.fineTuning.jobs.retrieve(id);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) return job;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function createJob(client: OpenAI, hyperparameters: Record<string, unknown>): Promise<OpenAI.FineTuning.FineTuningJob> {
  const file = await client.files.create({ file: await toFile(Buffer.from(trainingFile), "train.jsonl"), purpose: "fine-tune" });
  return client.fineTuning.jobs.create({ model: "target", training_file: file.id, seed: 1, method: { type: "supervised", supervised: { hyperparameters: hyperparameters as never } } });
}

before(async () => {
  redis = await startControlledRedis();
  const environment = { REDIS_URL: redis.url, WORKERS: "0", ADAPTER_SYNC_MS: "50" };
  replicas = [await startTestGateway(environment), await startTestGateway(environment)];
});

after(async () => {
  for (const worker of workers) worker.child.kill("SIGKILL");
  for (const replica of replicas) await replica.close();
  await redis?.stop();
});

describe("fine-tuning workers on Redis", () => {
  it("a worker process trains the job and both replicas serve the adapter", async () => {
    await startWorker();
    const [first, second] = replicas.map((replica) => replica.client) as [OpenAI, OpenAI];
    const created = await createJob(first, { n_epochs: 1, batch_size: 4, rank: 2 });
    // Queued on one replica, visible from the other: the job lives in the shared store.
    assert.equal((await second.fineTuning.jobs.retrieve(created.id)).id, created.id);
    const job = await finished(second, created.id);
    assert.equal(job.status, "succeeded", JSON.stringify(job.error));
    for (const client of [first, second]) {
      for (let i = 0; i < 200 && !(await client.models.list()).data.some((card) => card.id === job.fine_tuned_model); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const completion = await client.completions.create({ model: job.fine_tuned_model!, prompt: "The word", max_tokens: 2 });
      assert.equal(completion.model, job.fine_tuned_model);
    }
  });

  it("a job whose worker is killed mid-training is retried by another worker, not left running", async () => {
    const [client] = replicas.map((replica) => replica.client) as [OpenAI];
    const doomed = workers.find((worker) => worker.child.exitCode === null) ?? (await startWorker());
    const created = await createJob(client, { n_epochs: 3, batch_size: 1, rank: 2 });
    const stepped = async (): Promise<boolean> => (await client.fineTuning.jobs.listEvents(created.id, { limit: 100 })).data.some((event) => event.type === "metrics");
    while (!(await stepped())) await new Promise((resolve) => setTimeout(resolve, 100));
    doomed.child.kill("SIGKILL");
    await doomed.exit;
    assert.equal((await client.fineTuning.jobs.retrieve(created.id)).status, "running");
    await startWorker();
    const job = await finished(client, created.id);
    const events = (await client.fineTuning.jobs.listEvents(created.id, { limit: 100 })).data.map((event) => event.message);
    if (job.status === "failed") assert.match(job.error!.message, /worker/);
    else {
      assert.equal(job.status, "succeeded");
      assert.ok(events.some((message) => /restarts from step 0/.test(message)), events.join("\n"));
    }
  });
});
