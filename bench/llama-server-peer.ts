/**
 * Peer row for `npm run bench:spec`: the same prompts through llama.cpp's own llama-server,
 * plain or with `--model-draft` (draft-simple speculative decoding), so our decoding loop can
 * be compared with llama.cpp's. The binary is built by hand from the llama.cpp source bundled
 * in node-llama-cpp (see the README's SpecTr section); nothing here builds or downloads it.
 *
 * Note on acceptance: llama-server verifies a draft by sampling the target and keeping draft
 * tokens while they match the sample; at temperature > 0 that accepts less often than the
 * min(1, p/q) rule of speculative sampling, with the same output distribution.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";

export interface LlamaServerOptions {
  /** Path to a llama-server binary. */
  binary: string;
  target: string;
  /** null: plain llama-server, no speculative decoding. */
  draft: string | null;
  /** Strings are tokenized by the server (with BOS); token arrays are evaluated as given. */
  prompts: ReadonlyArray<string | readonly number[]>;
  maxTokens: number;
  temperature: number;
  /** Tokens drafted per verification (our L); the draft always proposes this many. */
  draftMax: number;
  threads: number;
  contextSize: number;
}

export interface LlamaServerResult {
  /** Median over requests of generated tokens / wall time of the HTTP request (prompt included, as in bench/spectr.ts). */
  tokensPerSecond: number;
  /** Median over requests of llama-server's own timings: predicted_n / predicted_ms (generation only). */
  serverTokensPerSecond: number;
  /** Generated tokens per target decode (the prompt's decode included, so plain is 1.00). */
  blockEfficiency: number;
  /** Accepted / drafted tokens; only with a draft model. */
  acceptance?: number;
}

interface CompletionTimings {
  predicted_n: number;
  predicted_ms: number;
  /** Present only when the request drafted tokens. */
  draft_n?: number;
  draft_n_accepted?: number;
}

const HEALTH_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 5_000;

export interface LaunchOptions {
  binary: string;
  target: string;
  /** null: no draft model. */
  draft: string | null;
  draftMax: number;
  threads: number;
  contextSize: number;
  /** Slots (concurrent sequences); n > 1 completions need as many. Default 1. */
  parallel?: number;
}

export interface RunningLlamaServer {
  url: string;
  stop(): Promise<void>;
}

/** Starts llama-server on a free port and waits until it is healthy. */
export async function launchLlamaServer(options: LaunchOptions): Promise<RunningLlamaServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const parallel = options.parallel ?? 1;
  const args = [
    "--model", options.target,
    "--host", "127.0.0.1",
    "--port", String(port),
    "--ctx-size", String(options.contextSize * parallel),
    "--parallel", String(parallel),
    "--threads", String(options.threads),
    "--threads-batch", String(options.threads),
    // /metrics counts target decodes, which block efficiency needs.
    "--metrics",
    "--cache-ram", "0",
    "--no-webui",
  ];
  if (options.draft !== null) {
    args.push(
      "--model-draft", options.draft,
      // Explicit: this version infers the type only for MTP/DFlash-style drafts.
      "--spec-type", "draft-simple",
      "--spec-draft-n-max", String(options.draftMax),
      "--spec-draft-n-min", "0",
      // 0: always draft draftMax tokens, like a fixed L in our bench.
      "--spec-draft-p-min", "0",
      "--threads-draft", String(options.threads),
      "--threads-batch-draft", String(options.threads),
    );
  }
  const server = spawn(options.binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  const log = tail(server);
  try {
    await waitUntilHealthy(server, url, log);
  } catch (error) {
    await stop(server);
    throw error;
  }
  return { url, stop: () => stop(server) };
}

/** Starts llama-server, measures every prompt in turn (one warm-up request first), stops the server. */
export async function measureLlamaServer(options: LlamaServerOptions): Promise<LlamaServerResult> {
  const server = await launchLlamaServer(options);
  const base = server.url;
  try {
    await complete(base, options.prompts[0]!, options, 0);
    const before = await decodeCounters(base);
    const wallTps: number[] = [];
    const serverTps: number[] = [];
    let generated = 0;
    let drafted = 0;
    let accepted = 0;
    for (const [i, prompt] of options.prompts.entries()) {
      const start = performance.now();
      const timings = await complete(base, prompt, options, 1000 + i);
      const wallMs = performance.now() - start;
      wallTps.push((timings.predicted_n * 1000) / wallMs);
      serverTps.push((timings.predicted_n * 1000) / timings.predicted_ms);
      generated += timings.predicted_n;
      drafted += timings.draft_n ?? 0;
      accepted += timings.draft_n_accepted ?? 0;
    }
    const after = await decodeCounters(base);
    return {
      tokensPerSecond: median(wallTps),
      serverTokensPerSecond: median(serverTps),
      blockEfficiency: generated / (after.targetDecodes - before.targetDecodes),
      ...(options.draft === null ? {} : { acceptance: drafted === 0 ? 0 : accepted / drafted }),
    };
  } finally {
    await server.stop();
  }
}

async function complete(base: string, prompt: string | readonly number[], options: LlamaServerOptions, seed: number): Promise<CompletionTimings> {
  const response = await fetch(`${base}/completion`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      prompt,
      n_predict: options.maxTokens,
      ignore_eos: true,
      temperature: options.temperature,
      seed,
      // Temperature alone, then sampling from the distribution (greedy at 0): our bench's
      // sampling, without llama.cpp's default top-k/top-p/min-p truncation.
      samplers: ["temperature"],
      // Every request evaluates its whole prompt, as bench/spectr.ts does.
      cache_prompt: false,
    }),
  });
  if (!response.ok) throw new Error(`llama-server /completion: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { timings: CompletionTimings };
  return body.timings;
}

async function decodeCounters(base: string): Promise<{ targetDecodes: number }> {
  const response = await fetch(`${base}/metrics`);
  if (!response.ok) throw new Error(`llama-server /metrics: ${response.status}`);
  const match = /^llamacpp:n_decode_total (\S+)$/m.exec(await response.text());
  if (match === null) throw new Error("llama-server /metrics has no llamacpp:n_decode_total");
  return { targetDecodes: Number(match[1]) };
}

/** Binds port 0 and releases it: llama-server needs a number, and this one was free a moment ago. */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, "127.0.0.1");
  await once(probe, "listening");
  const address = probe.address();
  probe.close();
  if (address === null || typeof address === "string") throw new Error("no TCP port");
  return address.port;
}

/** The last lines of the server's log (or the spawn error), to explain a failed start. */
function tail(server: ChildProcess): () => string {
  let text = "";
  server.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    text = (text + chunk).slice(-4000);
  });
  // Without a listener a failed spawn (a wrong LLAMA_SERVER path) would crash the process.
  server.on("error", (error) => {
    text += `\n${error.message}`;
  });
  return () => text;
}

async function waitUntilHealthy(server: ChildProcess, base: string, log: () => string): Promise<void> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  while (Date.now() < deadline) {
    // 503 while the models load; refused before the socket is bound.
    const healthy = await fetch(`${base}/health`).then((r) => r.ok, () => false);
    if (healthy) return;
    if (server.pid === undefined || server.exitCode !== null || server.signalCode !== null) {
      throw new Error(`llama-server did not start or exited:\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`llama-server not healthy after ${HEALTH_TIMEOUT_MS} ms:\n${log()}`);
}

async function stop(server: ChildProcess): Promise<void> {
  if (server.pid === undefined || server.exitCode !== null || server.signalCode !== null) return;
  const exited = once(server, "exit");
  server.kill("SIGTERM");
  const timer = setTimeout(() => server.kill("SIGKILL"), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
