import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { Redis } from "ioredis";

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

/** REDIS_URL when set; otherwise a throwaway redis-server on a free loopback port, no persistence. */
export async function startTestRedis(): Promise<TestRedis> {
  const existing = process.env.REDIS_URL;
  if (existing !== undefined && existing !== "") return { url: existing, stop: async () => undefined };
  const port = await freePort();
  const server: ChildProcess = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
  const failed = new Promise<never>((_, reject) => server.once("error", (error) => reject(new Error(`redis-server could not start: ${error.message}`))));
  const url = `redis://127.0.0.1:${port}`;
  await Promise.race([waitForPing(url), failed]);
  return {
    url,
    stop: async () => {
      server.kill("SIGTERM");
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
