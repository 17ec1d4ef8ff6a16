/**
 * `npm run soak:memory`: where a soak's resident memory goes, without k6 and with more detail
 * than /metrics gives. A gateway in this process with `npm start`'s defaults (its log on stdout,
 * as in production; send it to /dev/null), MEMORY_CLIENTS (16) clients back to back for
 * MEMORY_MINUTES (15), streamed completions and chat alternating, MEMORY_MAX_TOKENS (64) each.
 * Every MEMORY_SAMPLE_SECONDS (30) a row on stderr: RSS, V8's heap (reserved and in use),
 * external memory, and native memory (RSS less both: llama.cpp and malloc's arenas); at the end
 * each one's slope after MEMORY_WARMUP_MINUTES (2) and over the last half of the samples.
 * MEMORY_GC=true collects fully before each row, so "heap used" is only what is retained.
 * Run it with MALLOC_ARENA_MAX=2 beside a default run to see what glibc's arenas add.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { loadConfig } from "../../src/config/config.ts";
import { createLogger } from "../../src/logging/logger.ts";
import { startServer } from "../../src/server.ts";
import { slope } from "./slope.ts";

const minutes = Number(process.env.MEMORY_MINUTES ?? 15);
const sampleSeconds = Number(process.env.MEMORY_SAMPLE_SECONDS ?? 30);
const warmupMinutes = Number(process.env.MEMORY_WARMUP_MINUTES ?? 2);
const clients = Number(process.env.MEMORY_CLIENTS ?? 16);
const maxTokens = Number(process.env.MEMORY_MAX_TOKENS ?? 64);
const collectFirst = process.env.MEMORY_GC === "true";
const gc = collectFirst ? (setFlagsFromString("--expose-gc"), runInNewContext("gc") as () => void) : () => undefined;

const prompts = ["Once upon a time", "The committee met on a Tuesday to decide, after a long and tiring debate about the budget,", "Dear diary,", "Four score and seven years ago our fathers brought forth on this continent a new nation,"];

const config = loadConfig({ ...process.env, HOST: "127.0.0.1", PORT: "0" });
const server = await startServer(config, createLogger(config.logLevel));
await server.loaded;

let requests = 0;
let failures = 0;
async function request(i: number): Promise<void> {
  const chat = i % 2 === 1;
  const prompt = prompts[i % prompts.length]!;
  try {
    const response = await fetch(`${server.url}/v1/${chat ? "chat/completions" : "completions"}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: config.models[0]!.id, max_tokens: maxTokens, stream: true, stream_options: { include_usage: true }, ...(chat ? { messages: [{ role: "user", content: prompt }] } : { prompt }) }),
    });
    if (response.status !== 200 || !(await response.text()).trimEnd().endsWith("data: [DONE]")) failures++;
  } catch {
    failures++;
  }
}

interface Row {
  minutes: number;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  native: number;
}
const rows: Row[] = [];
const startedAt = performance.now();
const mib = (bytes: number): number => bytes / 2 ** 20;
function sample(): void {
  gc();
  const m = process.memoryUsage();
  const row = { minutes: (performance.now() - startedAt) / 60_000, rss: mib(m.rss), heapTotal: mib(m.heapTotal), heapUsed: mib(m.heapUsed), external: mib(m.external), native: mib(m.rss - m.heapTotal - m.external) };
  rows.push(row);
  console.error(`| ${row.minutes.toFixed(1)} | ${requests} | ${failures} | ${[row.rss, row.heapTotal, row.heapUsed, row.external, row.native].map((v) => v.toFixed(1)).join(" | ")} |`);
}

console.error(`memory: ${minutes} min, ${clients} clients, ${maxTokens} tokens, MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? "(glibc's default)"}${collectFirst ? ", full GC before each row" : ""}`);
console.error("| min | requests started | failed | RSS MiB | heap total MiB | heap used MiB | external MiB | native MiB |\n|---:|---:|---:|---:|---:|---:|---:|---:|");
sample();
const sampler = setInterval(sample, sampleSeconds * 1000);
const endAt = startedAt + minutes * 60_000;
await Promise.all(Array.from({ length: clients }, async () => {
  while (performance.now() < endAt) await request(requests++);
}));
clearInterval(sampler);
sample();
await server.shutdown(5_000);

const steady = rows.filter((row) => row.minutes >= warmupMinutes);
const late = steady.slice(Math.floor(steady.length / 2));
console.error(`\nslopes in MiB/min after minute ${warmupMinutes} (last half of those samples):`);
for (const key of ["rss", "heapTotal", "heapUsed", "external", "native"] as const) {
  const of = (from: Row[]): string => slope(from.map((row) => ({ x: row.minutes, y: row[key] }))).toFixed(2);
  console.error(`  ${key}: ${of(steady)} (${of(late)})`);
}
process.exit(failures === 0 ? 0 : 1);
