import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface GatewayProcess {
  process: ChildProcess;
  url: string;
  exit: Promise<number | null>;
}

/**
 * `npm start`'s entry point in its own process (real signals, its own event loop), on a free
 * loopback port; resolves once it logs "ready". Its stdout (the request log) is read and dropped.
 */
export async function spawnGateway(environment: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...environment },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let url = "";
  for await (const line of createInterface({ input: child.stdout! })) {
    const entry = JSON.parse(line) as { msg: string; url?: string };
    if (entry.msg === "listening") url = entry.url!;
    if (entry.msg === "ready") break;
  }
  child.stdout!.resume();
  if (url === "") throw new Error("the gateway exited before it was ready");
  return { process: child, url, exit };
}
