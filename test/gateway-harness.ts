import { existsSync } from "node:fs";
import OpenAI from "openai";
import { loadConfig, type Environment } from "../src/config/config.ts";
import { createLogger } from "../src/logging/logger.ts";
import { startServer, type RunningServer } from "../src/server.ts";

/** The committed models; the forge smoke-test copies stand in on a machine that has not got them yet. */
export function modelPath(name: "target" | "draft"): string {
  const committed = `models/${name}.gguf`;
  return existsSync(committed) ? committed : `/tmp/forge-smoke/${name}.gguf`;
}

export interface TestGateway {
  server: RunningServer;
  url: string;
  client: OpenAI;
  close(): Promise<void>;
}

/** A real gateway on a free loopback port, with the official SDK pointed at it; `logLines` collects its log (set LOG_LEVEL too). */
export async function startTestGateway(environment: Environment = {}, options: { logLines?: string[] } = {}): Promise<TestGateway> {
  const config = loadConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    TARGET_MODEL: modelPath("target"),
    TARGET_MODEL_ID: "target",
    DRAFT_MODEL: modelPath("draft"),
    LOG_LEVEL: "silent",
    SEQUENCES: "4",
    // Whether "auto" speculates depends on this machine's measured costs, and a speculating
    // request leases more sequences; test/gateway-speculation.test.ts turns it on.
    SPECULATION: "off",
    // Rerankers beyond bm25 only where a test asks for them (test/gateway-rerank.test.ts).
    RERANK_ARTIFACT: "off",
    ...environment,
  });
  const lines = options.logLines;
  const logger = lines === undefined ? createLogger(config.logLevel) : createLogger(config.logLevel, { write: (line: string) => void lines.push(line) });
  const server = await startServer(config, logger);
  await server.loaded;
  const apiKey = config.apiKeys[0] ?? "unused";
  return {
    server,
    url: server.url,
    client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 }),
    close: async () => {
      await server.shutdown(5_000);
    },
  };
}

/** Reads a metric from /metrics, summed over its labels. */
export async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const rows = text.split("\n").filter((row) => row.startsWith(`${name} `) || row.startsWith(`${name}{`));
  // A labelled counter nothing has touched yet has its TYPE line and no samples.
  if (rows.length === 0 && !text.includes(`# TYPE ${name} `)) throw new Error(`${name} missing from /metrics`);
  return rows.reduce((sum, row) => sum + Number(row.slice(row.lastIndexOf(" ") + 1)), 0);
}

/** Polls (bounded in count, not asserted on time) until `read` returns `expected`; returns the last value. */
export async function settle(read: () => Promise<number>, expected: number, attempts = 200): Promise<number> {
  let value = await read();
  for (let i = 0; i < attempts && value !== expected; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    value = await read();
  }
  return value;
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}
