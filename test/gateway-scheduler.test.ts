import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";
import { SequencePool } from "../src/engine/sequence-pool.ts";
import { ApiError, ClientClosed } from "../src/protocol/errors.ts";
import { Scheduler } from "../src/scheduler/scheduler.ts";
import { modelPath } from "./gateway-harness.ts";

let llama: Llama;
let model: LlamaModel;
let pool: SequencePool;
before(async () => {
  llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: modelPath("draft") });
  pool = new SequencePool(await model.createContext({ contextSize: 64, sequences: 2, threads: 1 }));
});
after(async () => {
  await pool.dispose();
  await model.dispose();
  await llama.dispose();
});

/** A promise the test resolves when it chooses, to hold sequences. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const options = { maxQueue: 2, timeoutMs: 60_000, retryAfterSeconds: 3 };
const never = new AbortController().signal;

describe("Scheduler", () => {
  it("admits in arrival order as sequences free up", async () => {
    const scheduler = new Scheduler(options);
    const order: string[] = [];
    const first = gate();
    const running = scheduler.run(pool, 2, never, async () => {
      order.push("a");
      await first.promise;
    });
    const waitingBig = scheduler.run(pool, 2, never, async () => void order.push("b"));
    const waitingSmall = scheduler.run(pool, 1, never, async () => void order.push("c"));
    assert.equal(scheduler.waiting, 2);
    first.open();
    await Promise.all([running, waitingBig, waitingSmall]);
    assert.deepEqual(order, ["a", "b", "c"], "a later small request does not overtake a waiting large one");
    assert.equal(pool.active, 0);
  });

  it("refuses with 429 and Retry-After when the queue is full", async () => {
    const scheduler = new Scheduler(options);
    const hold = gate();
    const jobs = [scheduler.run(pool, 2, never, () => hold.promise), scheduler.run(pool, 1, never, async () => {}), scheduler.run(pool, 1, never, async () => {})];
    await assert.rejects(scheduler.run(pool, 1, never, async () => {}), (error: unknown) => error instanceof ApiError && error.status === 429 && error.retryAfter === 3);
    hold.open();
    await Promise.all(jobs);
  });

  it("drops a waiter whose client disconnects, and tells the work why it aborted", async () => {
    const scheduler = new Scheduler(options);
    const hold = gate();
    const holder = scheduler.run(pool, 2, never, () => hold.promise);
    const client = new AbortController();
    const waiter = scheduler.run(pool, 1, client.signal, async () => assert.fail("must not run"));
    client.abort();
    await assert.rejects(waiter, ClientClosed);
    assert.equal(scheduler.waiting, 0);
    hold.open();
    await holder;
    const running = new AbortController();
    await assert.rejects(scheduler.run(pool, 1, running.signal, async (lease) => {
      running.abort();
      lease.signal.throwIfAborted();
    }), ClientClosed);
    assert.equal(pool.active, 0);
  });

  it("times out work with a 504 and frees its sequences", async () => {
    const scheduler = new Scheduler({ ...options, timeoutMs: 50 });
    // AbortSignal.timeout does not keep the process alive (a server's socket does); this test has none.
    const keepAlive = setInterval(() => undefined, 1_000);
    await assert.rejects(scheduler.run(pool, 1, never, (lease) => new Promise((_, reject) => lease.signal.addEventListener("abort", () => reject(lease.signal.reason)))),
      (error: unknown) => error instanceof ApiError && error.status === 504);
    clearInterval(keepAlive);
    assert.equal(pool.active, 0);
  });

  it("refuses new work while draining and reports when idle", async () => {
    const scheduler = new Scheduler(options);
    const hold = gate();
    const job = scheduler.run(pool, 1, never, () => hold.promise);
    scheduler.startDraining();
    await assert.rejects(scheduler.run(pool, 1, never, async () => {}), (error: unknown) => error instanceof ApiError && error.status === 503);
    assert.equal(await scheduler.waitForIdle(0), false);
    const idle = scheduler.waitForIdle(60_000);
    hold.open();
    await job;
    assert.equal(await idle, true);
  });
});
