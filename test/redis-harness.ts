import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

/** A redis-server this test owns, so it can inflict faults on it. */
export interface ControlledRedis extends TestRedis {
  /** SIGSTOP: connections stay open, nothing answers. */
  freeze(): void;
  thaw(): void;
  /** Stops it; `start` brings it back on the same port, empty (no persistence). */
  start(): Promise<void>;
}

/** REDIS_URL when set; otherwise a throwaway redis-server on a free loopback port, no persistence. */
export async function startTestRedis(): Promise<TestRedis> {
  const existing = process.env.REDIS_URL;
  if (existing !== undefined && existing !== "") return { url: existing, stop: async () => undefined };
  return startControlledRedis();
}

/** Always a redis-server of its own (REDIS_URL is not one a test may stop or freeze). */
export async function startControlledRedis(): Promise<ControlledRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let server: ChildProcess | undefined;
  let exited = Promise.resolve();
  const start = async (): Promise<void> => {
    const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    server = child;
    exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const failed = new Promise<never>((_, reject) => child.once("error", (error) => reject(new Error(`redis-server could not start: ${error.message}`))));
    await Promise.race([waitForPing(url), failed]);
  };
  await start();
  return {
    url,
    freeze: () => void server?.kill("SIGSTOP"),
    thaw: () => void server?.kill("SIGCONT"),
    start,
    stop: async () => {
      server?.kill("SIGCONT");
      server?.kill("SIGTERM");
      await exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function waitForPing(url: string, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.ping();
      await client.quit();
      return;
    } catch {
      client.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  throw new Error(`redis at ${url} did not answer`);
}
