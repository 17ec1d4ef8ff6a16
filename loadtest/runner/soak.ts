/**
 * `npm run soak`: loadtest/soak.ts (k6 at saturation) for SOAK_MINUTES (10) against `npm start`,
 * sampling the gateway's /metrics every SOAK_SAMPLE_SECONDS (10): resident memory, event-loop
 * delay (prom-client's per-scrape window), sequences in use, 5xx responses, tokens and the
 * server's inter-token latency. Then a report (SOAK_REPORT, default docs/soak.md): zero 5xx,
 * zero leaked sequences, RSS slope after SOAK_WARMUP_MINUTES (2), and per minute p50/p99 time
 * to first token and inter-token latency. Exits 1 when a goal is missed (the report says which).
 */
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { findK6, runK6, startGateway } from "./k6.ts";
import { slope } from "./slope.ts";

const minutes = Number(process.env.SOAK_MINUTES ?? 10);
const sampleSeconds = Number(process.env.SOAK_SAMPLE_SECONDS ?? 10);
const warmupMinutes = Number(process.env.SOAK_WARMUP_MINUTES ?? 2);
const vus = Number(process.env.SOAK_VUS ?? 16);
const maxTokens = Number(process.env.SOAK_MAX_TOKENS ?? 64);
const reportPath = process.env.SOAK_REPORT ?? "docs/soak.md";

interface Sample {
  seconds: number;
  rssMiB: number;
  heapMiB: number;
  /** V8's whole heap as reserved (used or not); RSS minus this and external is native memory (llama.cpp, malloc's arenas). */
  heapTotalMiB: number;
  externalMiB: number;
  loopP99Ms: number;
  loopMaxMs: number;
  sequences: number;
  draftSequences: number;
  waiting: number;
  http5xx: number;
  generatedTokens: number;
  itlSum: number;
  itlCount: number;
}

/** Sums a metric's samples (all label sets) from Prometheus text; `filter` picks label sets. */
function metricSum(text: string, name: string, filter: (labels: string) => boolean = () => true): number {
  let sum = 0;
  for (const row of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(row);
    if (match === null || match[1] !== name || !filter(match[2] ?? "")) continue;
    sum += Number(match[3]);
  }
  return sum;
}

async function sample(url: string, startedAt: number): Promise<Sample> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return {
    seconds: (performance.now() - startedAt) / 1000,
    rssMiB: metricSum(text, "process_resident_memory_bytes") / 2 ** 20,
    heapMiB: metricSum(text, "nodejs_heap_size_used_bytes") / 2 ** 20,
    heapTotalMiB: metricSum(text, "nodejs_heap_size_total_bytes") / 2 ** 20,
    externalMiB: metricSum(text, "nodejs_external_memory_bytes") / 2 ** 20,
    loopP99Ms: metricSum(text, "nodejs_eventloop_lag_p99_seconds") * 1000,
    loopMaxMs: metricSum(text, "nodejs_eventloop_lag_max_seconds") * 1000,
    sequences: metricSum(text, "num_sequences_active"),
    draftSequences: metricSum(text, "num_draft_sequences_active"),
    waiting: metricSum(text, "num_requests_waiting"),
    http5xx: metricSum(text, "http_requests_total", (labels) => /status="5\d\d"/.test(labels)),
    generatedTokens: metricSum(text, "generation_tokens_total"),
    itlSum: metricSum(text, "inter_token_latency_seconds_sum"),
    itlCount: metricSum(text, "inter_token_latency_seconds_count"),
  };
}

interface MinuteFigures {
  requests: number;
  errors5xx: number;
  ttft: number[];
  itl: number[];
}

/** k6's --out json points, bucketed by minute since the first point (the graceful stop's tail goes to the last minute). */
async function readPoints(path: string): Promise<MinuteFigures[]> {
  const buckets: MinuteFigures[] = Array.from({ length: minutes }, () => ({ requests: 0, errors5xx: 0, ttft: [], itl: [] }));
  let first: number | undefined;
  for await (const line of createInterface({ input: createReadStream(path) })) {
    if (!line.includes('"type":"Point"')) continue;
    const point = JSON.parse(line) as { metric: string; data: { time: string; value: number; tags?: Record<string, string> } };
    if (!["ttft", "itl", "http_reqs"].includes(point.metric)) continue;
    const time = Date.parse(point.data.time.replace(/(\.\d{3})\d*/, "$1"));
    first ??= time;
    const bucket = buckets[Math.min(minutes - 1, Math.max(0, Math.floor((time - first) / 60_000)))]!;
    if (point.metric === "http_reqs") {
      bucket.requests++;
      if (Number(point.data.tags?.status ?? 0) >= 500) bucket.errors5xx++;
    } else bucket[point.metric as "ttft" | "itl"].push(point.data.value);
  }
  return buckets;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

const fixed = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");

const k6 = findK6();
if (k6 === undefined) {
  console.error("soak needs k6: set K6=/path/to/k6 or put k6 on PATH (https://k6.io).");
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), "soak-"));
const pointsPath = join(work, "points.json");
console.error(`soak: ${minutes} min, ${vus} clients, ${maxTokens} tokens per stream, samples every ${sampleSeconds} s`);
const gateway = await startGateway({});
const startedAt = performance.now();
const samples: Sample[] = [await sample(gateway.url, startedAt)];
const sampler = setInterval(() => {
  sample(gateway.url, startedAt).then((s) => samples.push(s), (error: unknown) => console.error(`sample failed: ${String(error)}`));
}, sampleSeconds * 1000);
const run = await runK6(k6, "loadtest/soak.ts", {
  env: { BASE_URL: gateway.url, DURATION: `${minutes}m`, VUS: String(vus), MAX_TOKENS: String(maxTokens) },
  args: ["--out", `json=${pointsPath}`],
});
clearInterval(sampler);
// Sequences still held once the load is gone are leaked; give in-flight releases a moment.
let after = await sample(gateway.url, startedAt);
for (let i = 0; i < 50 && after.sequences + after.draftSequences > 0; i++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  after = await sample(gateway.url, startedAt);
}
const exitCode = await gateway.stop();
const perMinute = await readPoints(pointsPath);
rmSync(work, { recursive: true, force: true });

const server5xx = after.http5xx - samples[0]!.http5xx;
const client5xx = run.summary?.metrics.server_errors?.count ?? perMinute.reduce((sum, m) => sum + m.errors5xx, 0);
const leaked = after.sequences + after.draftSequences;
const steady = samples.filter((s) => s.seconds >= warmupMinutes * 60);
/** The goal is in MB (10^6 bytes); the tables are in MiB (2^20), as node and prom-client count. */
const mibToMB = 2 ** 20 / 1e6;
const slopeOf = (from: Sample[], y: (s: Sample) => number): number => slope(from.map((s) => ({ x: s.seconds / 60, y: y(s) })));
const rssSlope = slopeOf(steady, (s) => s.rssMiB);
const rssSlopeMB = rssSlope * mibToMB;
// Over the last half of the steady samples too: allocator warm-up flattens out, a leak does not.
const lateRssSlope = slopeOf(steady.slice(Math.floor(steady.length / 2)), (s) => s.rssMiB);
const heapSlope = slopeOf(steady, (s) => s.heapMiB);
const nativeSlope = slopeOf(steady, (s) => s.rssMiB - s.heapTotalMiB - s.externalMiB);
const secondItl = quantile(perMinute[1]?.itl ?? [], 0.99);
const lastItl = quantile(perMinute.at(-1)?.itl ?? [], 0.99);
const goals = [
  { goal: "zero 5xx (k6 and the gateway's http_requests_total)", value: `${client5xx} / ${server5xx}`, met: client5xx === 0 && server5xx === 0 },
  { goal: "zero leaked sequences after the load (target + draft)", value: String(leaked), met: leaked === 0 },
  { goal: `RSS slope after minute ${warmupMinutes} < 1 MB/min`, value: `${fixed(rssSlopeMB, 2)} MB/min (${fixed(rssSlope, 2)} MiB/min)`, met: rssSlopeMB < 1 },
  { goal: "p99 inter-token latency, last minute <= 1.2 x second minute", value: `${fixed(lastItl, 2)} / ${fixed(secondItl, 2)} ms = ${fixed(lastItl / secondItl, 2)}x`, met: lastItl <= 1.2 * secondItl },
  { goal: "k6 thresholds (server_errors == 0, checks > 99%)", value: `exit ${run.exitCode}`, met: run.exitCode === 0 },
  { goal: "the gateway drains and exits 0 on SIGTERM afterwards", value: `exit ${exitCode}`, met: exitCode === 0 },
];

const minuteRows = perMinute.map((m, i) => {
  const from = samples.filter((s) => s.seconds >= i * 60 && s.seconds < (i + 1) * 60);
  const first = from[0];
  const last = from.at(-1);
  const tokensPerSecond = first !== undefined && last !== undefined && last !== first ? (last.generatedTokens - first.generatedTokens) / (last.seconds - first.seconds) : NaN;
  const serverItl = first !== undefined && last !== undefined && last.itlCount > first.itlCount ? ((last.itlSum - first.itlSum) / (last.itlCount - first.itlCount)) * 1000 : NaN;
  const loopP99 = Math.max(...from.map((s) => s.loopP99Ms));
  return `| ${i + 1} | ${m.requests} | ${m.errors5xx} | ${fixed(quantile(m.ttft, 0.5))} | ${fixed(quantile(m.ttft, 0.99))} | ${fixed(quantile(m.itl, 0.5), 2)} | ${fixed(quantile(m.itl, 0.99), 2)} | ${fixed(serverItl, 2)} | ${fixed(tokensPerSecond, 0)} | ${fixed(loopP99)} | ${fixed(last?.rssMiB ?? NaN)} |`;
});
const sampleRows = samples.map((s) => `| ${fixed(s.seconds, 0)} | ${fixed(s.rssMiB)} | ${fixed(s.heapMiB)} | ${fixed(s.heapTotalMiB)} | ${fixed(s.externalMiB)} | ${fixed(s.rssMiB - s.heapTotalMiB - s.externalMiB)} | ${fixed(s.loopP99Ms)} | ${fixed(s.loopMaxMs)} | ${s.sequences} | ${s.waiting} |`);
const report = `# Soak report

Written by \`npm run soak\` (loadtest/runner/soak.ts) on ${new Date().toISOString()}: k6
(\`loadtest/soak.ts\`) at saturation against \`npm start\` with its defaults, ${minutes} minutes,
${vus} clients back to back (the gateway serves 8 sequences, so a queue always waits), streamed
completions and streamed chat alternating, ${maxTokens} tokens each; /metrics sampled every
${sampleSeconds} s. Machine: ${cpus().length} x ${cpus()[0]?.model ?? "?"}, node ${process.version}; shared with
other work, so absolute latencies move between runs.

## Goals

| goal | this run | met |
|---|---|---|
${goals.map((g) => `| ${g.goal} | ${g.value} | ${g.met ? "yes" : "**no**"} |`).join("\n")}

RSS slope: least squares over the samples after minute ${warmupMinutes}, in MB (10^6 bytes) as the goal
states; the tables below are in MiB (2^20 bytes = 1.049 MB). Over the same samples, in MiB/min:
RSS ${fixed(rssSlope, 2)}, RSS over the last half of them ${fixed(lateRssSlope, 2)}, the JS heap in use
${fixed(heapSlope, 2)}, native memory (RSS - V8 heap total - external) ${fixed(nativeSlope, 2)}.

## Per minute

TTFT is k6's time to the first streamed byte (the first token's event); ITL (client) is each
stream's mean gap between tokens ((duration - TTFT) / (completion_tokens - 1)), p50/p99 over
the minute's streams; ITL (server) is the gateway's mean per-token gap over the minute
(inter_token_latency_seconds sum/count). Event-loop p99 is the worst ${sampleSeconds} s window's p99
(prom-client's monitorEventLoopDelay).

| minute | requests | 5xx | TTFT p50 ms | TTFT p99 ms | ITL p50 ms (client) | ITL p99 ms (client) | ITL mean ms (server) | tokens/s | event-loop p99 ms | RSS MiB |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${minuteRows.join("\n")}

## Samples (every ${sampleSeconds} s)

| s | RSS MiB | heap used MiB | heap total MiB | external MiB | native MiB | event-loop p99 ms | event-loop max ms | sequences in use | waiting |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${sampleRows.join("\n")}
`;
writeFileSync(reportPath, report);
console.log(`\nsoak report: ${reportPath}`);
for (const g of goals) console.log(`${g.met ? "met    " : "MISSED "} ${g.goal}: ${g.value}`);
process.exit(goals.every((g) => g.met) ? 0 : 1);
