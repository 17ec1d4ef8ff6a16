/**
 * `npm run bench:adapters`: runtime LoRA adapters in `npm start`'s process (defaults, rank-8
 * random adapters on every projection of models/target.gguf, in a temporary ADAPTERS_DIR).
 *
 *  - load: POST /v1/load_lora_adapter of a new name, until it answers (median of BENCH_LOADS);
 *  - swap: the same for a loaded name (a new version while the old one is idle);
 *  - tokens/s: STREAMS streaming greedy clients on one adapter, in rounds that alternate steady
 *    state and back-to-back swaps of that adapter; aggregate tokens/s per round, medians, ratio;
 *  - memory: the gateway's resident set (VmRSS) before and after loading BENCH_RESIDENT more
 *    adapters (and serving one request on each), per adapter; what unloading them gives back;
 *    and how many would fit in MemAvailable at that rate (an estimate).
 * Nothing is asserted: the figures go to the README.
 */
import { readFileSync, rmSync, statSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join } from "node:path";
import { adaptersDir, baseConfig, writeRandomAdapter } from "../test/adapter-fixtures.ts";
import { spawnGateway, type GatewayProcess } from "../test/gateway-process.ts";
import { median } from "./stats.ts";

const loads = Number(process.env.BENCH_LOADS ?? 7);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const roundMs = Number(process.env.BENCH_ROUND_MS ?? 3000);
const streams = Number(process.env.BENCH_STREAMS ?? 4);
const resident = Number(process.env.BENCH_RESIDENT ?? 8);
const maxTokens = 64;
const prompts = ["Once upon a time", "The history of the city begins", "In the morning the ship", "We the people of the United States"];

async function post(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

async function timedLoad(gateway: GatewayProcess, name: string, file: string): Promise<number> {
  const start = performance.now();
  await post(`${gateway.url}/v1/load_lora_adapter`, { lora_name: name, lora_path: file });
  return performance.now() - start;
}

/** One streamed greedy completion; returns its completion tokens (from the usage chunk). */
async function stream(gateway: GatewayProcess, model: string, prompt: string): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
  });
  if (response.status !== 200) throw new Error(`completion answered ${response.status}: ${await response.text()}`);
  const text = await response.text();
  if (text.includes('"error"')) throw new Error(`a stream failed: ${text.slice(-300)}`);
  return Number(/"completion_tokens":(\d+)/.exec(text.slice(-600))?.[1] ?? 0);
}

/** Aggregate tokens/s of `streams` clients for `roundMs`, while `background` runs; counts whole requests only. */
async function throughput(gateway: GatewayProcess, model: string, background: (stop: () => boolean) => Promise<number>): Promise<{ tokensPerSecond: number; swaps: number }> {
  const start = performance.now();
  const stop = (): boolean => performance.now() - start >= roundMs;
  let tokens = 0;
  const client = async (id: number): Promise<void> => {
    for (let i = 0; !stop(); i++) tokens += await stream(gateway, model, prompts[(id + i) % prompts.length]!);
  };
  const [swaps] = await Promise.all([background(stop), ...Array.from({ length: streams }, (_, id) => client(id))]);
  return { tokensPerSecond: (tokens / (performance.now() - start)) * 1000, swaps };
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((row) => row.startsWith("VmRSS:"))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

function memAvailableBytes(): number {
  const line = readFileSync("/proc/meminfo", "utf8").split("\n").find((row) => row.startsWith("MemAvailable:"))!;
  return Number(/(\d+)/.exec(line)![1]) * 1024;
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const dir = adaptersDir();
  const files = Array.from({ length: Math.max(resident, 3) }, (_, i) => writeRandomAdapter(dir, `bench-${i}.gguf`, 100 + i));
  const fileBytes = statSync(join(dir, files[0]!)).size;
  const gateway = await spawnGateway({ ADAPTERS_DIR: dir, TARGET_MODEL_ID: "target", DRAFT_MODEL: "" });
  try {
    const loadMs: number[] = [];
    const swapMs: number[] = [];
    await timedLoad(gateway, "warm-up", files[0]!);
    for (let i = 0; i < loads; i++) {
      loadMs.push(await timedLoad(gateway, `fresh-${i}`, files[i % files.length]!));
      swapMs.push(await timedLoad(gateway, `fresh-${i}`, files[(i + 1) % files.length]!));
      await post(`${gateway.url}/v1/unload_lora_adapter`, { lora_name: `fresh-${i}` });
    }

    await timedLoad(gateway, "served", files[0]!);
    const steady: number[] = [];
    const swapping: number[] = [];
    const swapCounts: number[] = [];
    for (let round = -1; round < rounds; round++) {
      const calm = await throughput(gateway, "served", async () => 0);
      let next = 0;
      const busy = await throughput(gateway, "served", async (stop) => {
        let swaps = 0;
        for (; !stop(); swaps++) await timedLoad(gateway, "served", files[++next % 3]!);
        return swaps;
      });
      if (round < 0) continue; // warm-up
      steady.push(calm.tokensPerSecond);
      swapping.push(busy.tokensPerSecond);
      swapCounts.push(busy.swaps);
    }
    await post(`${gateway.url}/v1/unload_lora_adapter`, { lora_name: "served" });
    await post(`${gateway.url}/v1/unload_lora_adapter`, { lora_name: "warm-up" });

    await settle(500);
    const before = rssBytes(gateway.process.pid!);
    for (let i = 0; i < resident; i++) {
      await timedLoad(gateway, `resident-${i}`, files[i]!);
      await stream(gateway, `resident-${i}`, prompts[0]!); // touch its contexts
    }
    await settle(500);
    const loaded = rssBytes(gateway.process.pid!);
    const perAdapter = (loaded - before) / resident;
    for (let i = 0; i < resident; i++) await post(`${gateway.url}/v1/unload_lora_adapter`, { lora_name: `resident-${i}` });
    await settle(1000);
    const returnedPerAdapter = (loaded - rssBytes(gateway.process.pid!)) / resident;
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

    console.log(`machine: ${availableParallelism()} x ${cpus()[0]?.model.trim()}, node ${process.version}`);
    console.log(`gateway defaults (CONTEXTS auto, SEQUENCES 8, THREADS 1); rank-8 adapters on all 7 projections of ${baseConfig.layers} layers, ${mib(fileBytes)} MiB each`);
    console.log(`${loads} loads and swaps; ${rounds} rounds x ${roundMs} ms x ${streams} streaming clients, ${maxTokens} tokens each, greedy (medians)\n`);
    console.log("| figure | value |");
    console.log("|---|---:|");
    console.log(`| load a new adapter, ms (median) | ${median(loadMs).toFixed(1)} |`);
    console.log(`| swap a loaded adapter, ms (median) | ${median(swapMs).toFixed(1)} |`);
    console.log(`| tokens/s, steady state (aggregate, median) | ${median(steady).toFixed(1)} |`);
    console.log(`| tokens/s, swapping back to back (aggregate, median) | ${median(swapping).toFixed(1)} |`);
    console.log(`| swaps per ${roundMs} ms round (median) | ${median(swapCounts)} |`);
    console.log(`| ratio swapping / steady | ${(median(swapping) / median(steady)).toFixed(3)} |`);
    console.log(`| resident memory per loaded adapter, MiB (${resident} loaded) | ${mib(perAdapter)} |`);
    console.log(`| resident memory returned per unloaded adapter, MiB | ${mib(returnedPerAdapter)} |`);
    console.log(`| adapters that fit in MemAvailable (${mib(memAvailableBytes())} MiB), estimate | ${Math.floor(memAvailableBytes() / perAdapter)} |`);
  } finally {
    gateway.process.kill("SIGTERM");
    await gateway.exit;
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
