import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface GatewayProcess {
  process: ChildProcess;
  url: string;
  exit: Promise<number | null>;
  /** Every line the process has written to stdout so far (the JSON log, and npm's banner when started through npm). */
  lines: string[];
  /** Parsed JSON log entries so far. */
  log(): LogEntry[];
}

export interface LogEntry {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface SpawnOptions {
  /** Start it as README says (`npm start`) instead of `node --import tsx src/main.ts`. */
  viaNpm?: boolean;
  /** Resolve once it logs "listening" instead of waiting for "ready". */
  untilListening?: boolean;
}

/**
 * `npm start`'s entry point in its own process (real signals, its own event loop), on a free
 * loopback port; resolves once it logs "ready". Its stdout (the request log) is kept in `lines`.
 * Started through npm, it gets a process group of its own so a test can clean up whatever a
 * signal failed to stop.
 */
export async function spawnGateway(environment: Record<string, string>, options: SpawnOptions = {}): Promise<GatewayProcess> {
  const [command, args] = options.viaNpm === true ? ["npm", ["start"]] : [process.execPath, ["--import", "tsx", "src/main.ts"]];
  const child = spawn(command, args, {
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...environment },
    stdio: ["ignore", "pipe", "inherit"],
    detached: options.viaNpm === true,
  });
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const lines: string[] = [];
  const log = (): LogEntry[] => lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as LogEntry);
  let url = "";
  await new Promise<void>((resolve) => {
    const reader = createInterface({ input: child.stdout! });
    reader.on("line", (line) => {
      lines.push(line);
      if (!line.startsWith("{")) return;
      const entry = JSON.parse(line) as LogEntry;
      if (entry.msg === "listening") url = entry.url as string;
      if (entry.msg === "ready" || (options.untilListening === true && url !== "")) resolve();
    });
    reader.once("close", () => resolve());
  });
  if (url === "") throw new Error("the gateway exited before it was ready");
  return { process: child, url, exit, lines, log };
}
