/**
 * Chooses the tfjs backend once per process: tfjs-node-gpu when it is installed (it is
 * optional: its install downloads libtensorflow), else the WebAssembly backend, else
 * the pure-JS cpu backend. TFJS_BACKEND=gpu|wasm|cpu forces one.
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core's Node bundle registers no gradients; the umbrella package registers them all.
import "@tensorflow/tfjs";
import { createRequire } from "node:module";
import { dirname } from "node:path";

export type BackendName = "tensorflow" | "wasm" | "cpu";

const require = createRequire(import.meta.url);
let chosen: Promise<BackendName> | undefined;

async function tryTensorflowGpu(): Promise<boolean> {
  try {
    // A string variable keeps bundlers and tsc from resolving the optional package.
    const name = "@tensorflow/tfjs-node-gpu";
    await import(name);
    return await tf.setBackend("tensorflow");
  } catch {
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    wasm.setWasmPaths(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm")) + "/");
    const threads = Number(process.env.TFJS_THREADS ?? 0);
    if (threads > 0) wasm.setThreadsCount(threads);
    return await tf.setBackend("wasm");
  } catch {
    return false;
  }
}

async function tryCpu(): Promise<boolean> {
  await import("@tensorflow/tfjs-backend-cpu");
  return tf.setBackend("cpu");
}

const attempts: Record<BackendName, () => Promise<boolean>> = {
  tensorflow: tryTensorflowGpu,
  wasm: tryWasm,
  cpu: tryCpu,
};

function preferenceFromEnvironment(): BackendName[] {
  const forced = process.env.TFJS_BACKEND;
  if (!forced) return ["tensorflow", "wasm", "cpu"];
  const name = forced === "gpu" ? "tensorflow" : forced;
  if (!(name in attempts)) throw new Error(`TFJS_BACKEND must be gpu, wasm or cpu, got ${forced}`);
  return [name as BackendName];
}

/** Initialises the best available backend (once) and returns its name. */
export function initBackend(log: (message: string) => void = () => {}): Promise<BackendName> {
  chosen ??= (async () => {
    for (const name of preferenceFromEnvironment()) {
      if (await attempts[name]()) {
        await tf.ready();
        log(`tfjs backend: ${name}`);
        return name;
      }
    }
    throw new Error(`no tfjs backend could be initialised (tried ${preferenceFromEnvironment().join(", ")})`);
  })();
  return chosen;
}

export { tf };
