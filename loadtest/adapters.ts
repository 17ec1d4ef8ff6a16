/**
 * Mixed traffic over the base model and two LoRA adapters while one of them is hot-swapped
 * every SWAP_SECONDS (2): no request may fail, and every adapter answer names its adapter in
 * system_fingerprint. The adapter files must be in the gateway's ADAPTERS_DIR (ADAPTER_FILES,
 * three names, default a.gguf,b.gguf,c.gguf; `npm run adapter -- random ...` writes them), and
 * API_KEY must be an admin key when the gateway has keys.
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/adapters.ts
 */
import { check, sleep } from "k6";
import http from "k6/http";
import type { Options } from "k6/options";
import { baseUrl, headers, maxTokens, model, prompts } from "./config.ts";

const files = (__ENV.ADAPTER_FILES ?? "a.gguf,b.gguf,c.gguf").split(",");
const names = ["loadtest-a", "loadtest-b"];
const duration = __ENV.DURATION ?? "1m";

export const options: Options = {
  scenarios: {
    traffic: { executor: "constant-vus", vus: Number(__ENV.VUS ?? 4), duration },
    swaps: { executor: "constant-vus", vus: 1, duration, exec: "swap" },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
  },
};

function load(name: string, file: string): boolean {
  const response = http.post(`${baseUrl}/v1/load_lora_adapter`, JSON.stringify({ lora_name: name, lora_path: file }), { headers: headers() });
  return check(response, { "adapter loaded": (r) => r.status === 200 });
}

export function setup(): void {
  load(names[0]!, files[0]!);
  load(names[1]!, files[1]!);
}

export default function (): void {
  const target = [model, ...names][__ITER % 3]!;
  const body = JSON.stringify({ model: target, prompt: prompts[__ITER % prompts.length], max_tokens: maxTokens, temperature: __VU % 2 });
  const response = http.post(`${baseUrl}/v1/completions`, body, { headers: headers() });
  check(response, {
    "200": (r) => r.status === 200,
    "answered by the model asked for": (r) => r.status !== 200 || target === model || String(r.json("system_fingerprint")).includes(`:${target}@v`),
  });
}

/** Swaps adapter A between two files: in-flight requests finish on their version, new ones get the new one. */
export function swap(): void {
  load(names[0]!, files[__ITER % 2 === 0 ? 2 : 0]!);
  sleep(Number(__ENV.SWAP_SECONDS ?? 2));
}

export function teardown(): void {
  for (const name of names) http.post(`${baseUrl}/v1/unload_lora_adapter`, JSON.stringify({ lora_name: name }), { headers: headers() });
}
