/**
 * Every request links signals (client, deadline, shutdown, a failing sibling sample). On Node 20
 * a signal from AbortSignal.any that has an "abort" listener stays reachable until it aborts,
 * so each request that ended normally left its signals behind: the 10-minute soak's RSS grew
 * ~2 MiB a minute. These check that what a finished request linked is garbage-collected.
 */
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { after, before, describe, it } from "node:test";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";
import { SequencePool } from "../src/engine/sequence-pool.ts";
import { linkSignals } from "../src/lifecycle/linked-signal.ts";
import { Scheduler } from "../src/scheduler/scheduler.ts";
import { modelPath, postJson, startTestGateway } from "./gateway-harness.ts";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Full collections, with turns of the event loop between them so WeakRefs get cleared. */
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const alive = (refs: WeakRef<object>[]): number => refs.filter((ref) => ref.deref() !== undefined).length;

describe("linkSignals", () => {
  it("aborts with the first aborting source's reason, and not after dispose", () => {
    const a = new AbortController();
    const b = new AbortController();
    const linked = linkSignals([a.signal, b.signal]);
    b.abort(new Error("b"));
    a.abort(new Error("a"));
    assert.equal((linked.signal.reason as Error).message, "b");
    assert.equal(linkSignals([AbortSignal.abort("done"), a.signal]).signal.reason, "done");
    const c = new AbortController();
    const disposed = linkSignals([c.signal]);
    disposed[Symbol.dispose]();
    c.abort();
    assert.equal(disposed.signal.aborted, false);
  });

  it("leaves nothing on a long-lived source once disposed: 1000 linked signals with listeners are collected", async () => {
    const longLived = new AbortController();
    const refs: WeakRef<AbortSignal>[] = [];
    for (let i = 0; i < 1000; i++) {
      using linked = linkSignals([new AbortController().signal, longLived.signal]);
      linked.signal.addEventListener("abort", () => undefined);
      refs.push(new WeakRef(linked.signal));
    }
    await collect();
    assert.ok(alive(refs) < 10, `${alive(refs)} of 1000 still reachable`);
  });
});

describe("Scheduler.run", () => {
  let llama: Llama;
  let model: LlamaModel;
  let pool: SequencePool;
  before(async () => {
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: modelPath("draft") });
    pool = new SequencePool(await model.createContext({ contextSize: 64, sequences: 1, threads: 1 }));
  });
  after(async () => {
    await pool.dispose();
    await model.dispose();
    await llama.dispose();
  });

  it("lets the signals of 300 finished requests be collected", async () => {
    const scheduler = new Scheduler({ maxQueue: 2, timeoutMs: 60_000, retryAfterSeconds: 1 });
    const refs: WeakRef<AbortSignal>[] = [];
    for (let i = 0; i < 300; i++) {
      await scheduler.run(pool, 1, new AbortController().signal, async (lease) => {
        // As generation does: something listens for the abort that never comes.
        lease.signal.addEventListener("abort", () => undefined);
        refs.push(new WeakRef(lease.signal));
      });
    }
    await collect();
    assert.ok(alive(refs) < 10, `${alive(refs)} of 300 requests' signals still reachable`);
  });
});

describe("a gateway with many requests in flight", () => {
  it("links each to shutdown's signal without Node's listener-leak warning", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    const gateway = await startTestGateway({ SEQUENCES: "8" });
    try {
      const statuses = await Promise.all(Array.from({ length: 16 }, async () => {
        const response = await postJson(`${gateway.url}/v1/completions`, { model: "target", prompt: "Once upon a time", max_tokens: 8, stream: true });
        await response.text();
        return response.status;
      }));
      assert.deepEqual(statuses, Array(16).fill(200));
    } finally {
      await gateway.close();
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings.filter((warning) => warning.startsWith("MaxListenersExceededWarning")), []);
  });
});
