/**
 * `npm run loadtest:smoke`: every k6 script in loadtest/ for a few seconds against a gateway it
 * starts with `npm start`, with k6 from `K6` or PATH. Fails when k6 is missing, a script's
 * thresholds fail, or a figure is implausible (a stream shorter than its time to first byte:
 * the unit bug chat-stream.ts once had). SMOKE_SECONDS (3) sets each script's length.
 */
import { rmSync } from "node:fs";
import { findK6, runK6, startGateway, writeLoadtestAdapters, type K6Run } from "./k6.ts";

const seconds = Number(process.env.SMOKE_SECONDS ?? 3);
const targetModel = process.env.TARGET_MODEL ?? "models/target.gguf";

const k6 = findK6();
if (k6 === undefined) {
  console.error("loadtest:smoke needs k6: set K6=/path/to/k6 or put k6 on PATH (https://k6.io).");
  process.exit(1);
}

interface Check {
  script: string;
  env?: Record<string, string>;
  args?: string[];
  /** Problems with the run's figures beyond k6's own thresholds. */
  judge?: (run: K6Run) => string[];
}

const duration = `${seconds}s`;
const checks: Check[] = [
  { script: "loadtest/completions.ts", args: ["--vus", "4", "--duration", duration] },
  {
    script: "loadtest/chat-stream.ts",
    env: { RATE: "4", DURATION: duration },
    judge: ({ summary }) => {
      const stream = summary?.metrics.stream_duration?.med;
      const firstByte = summary?.metrics.http_req_waiting?.med;
      if (stream === undefined || firstByte === undefined) return ["stream_duration or http_req_waiting missing from the summary"];
      return stream >= firstByte ? [] : [`stream_duration median ${stream} ms is below the time to first byte ${firstByte} ms (a unit error?)`];
    },
  },
  { script: "loadtest/speculation.ts", env: { DURATION: `${Math.max(1, Math.round(seconds / 2))}s` } },
  { script: "loadtest/adapters.ts", env: { DURATION: duration, SWAP_SECONDS: "1" } },
  { script: "loadtest/rerank.ts", env: { RATE: "8", DURATION: duration } },
  { script: "loadtest/structured.ts", env: { DURATION: duration } },
  { script: "loadtest/metric-aware.ts", env: { DURATION: duration } },
  { script: "loadtest/files.ts", env: { DURATION: duration } },
];

const adaptersDir = writeLoadtestAdapters(targetModel);
const gateway = await startGateway({ ADAPTERS_DIR: adaptersDir }, (line) => {
  if (line.startsWith("{") && (JSON.parse(line) as { level: number }).level >= 50) console.error(line);
});
const failures: string[] = [];
try {
  for (const check of checks) {
    console.error(`\n== k6 ${check.script}`);
    const run = await runK6(k6, check.script, { env: { BASE_URL: gateway.url, MAX_TOKENS: "16", ...check.env }, args: check.args });
    const problems = [...(run.exitCode === 0 ? [] : [`k6 exited ${run.exitCode} (a threshold failed?)`]), ...(check.judge?.(run) ?? [])];
    const requests = run.summary?.metrics.http_reqs?.count ?? 0;
    const failed = run.summary?.metrics.http_req_failed?.value ?? NaN;
    console.log(`${check.script}: ${problems.length === 0 ? "ok" : "FAILED"}, ${requests} requests, failed rate ${failed}${problems.length === 0 ? "" : `: ${problems.join("; ")}`}`);
    failures.push(...problems.map((problem) => `${check.script}: ${problem}`));
  }
} finally {
  const code = await gateway.stop();
  if (code !== 0) failures.push(`the gateway exited ${code} after SIGTERM`);
  rmSync(adaptersDir, { recursive: true, force: true });
}
if (failures.length > 0) {
  console.error(`\nloadtest:smoke failed:\n${failures.join("\n")}`);
  process.exit(1);
}
console.log("loadtest:smoke: every script passed");
