/**
 * Saturation for a long run (`npm run soak` drives it and writes the report): VUS (16) clients
 * back to back, twice the default 8 sequences so a queue always waits, alternating streamed
 * completions and streamed chat with a usage chunk. Per stream: ttft (time to the first event)
 * and itl (the stream's mean gap between tokens, from its length and completion_tokens).
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e DURATION=10m loadtest/soak.ts
 */
import { check } from "k6";
import http from "k6/http";
import { Counter, Trend } from "k6/metrics";
import type { Options } from "k6/options";
import { baseUrl, headers, maxTokens, model, prompts } from "./config.ts";

const ttft = new Trend("ttft", true);
const itl = new Trend("itl", true);
const serverErrors = new Counter("server_errors");

export const options: Options = {
  scenarios: {
    saturation: { executor: "constant-vus", vus: Number(__ENV.VUS ?? 16), duration: __ENV.DURATION ?? "10m", gracefulStop: "30s" },
  },
  thresholds: {
    server_errors: ["count==0"],
    checks: ["rate>0.99"],
  },
};

export default function (): void {
  const chat = __ITER % 2 === 1;
  const prompt = prompts[(__VU + __ITER) % prompts.length]!;
  const body = JSON.stringify({
    model,
    max_tokens: maxTokens,
    stream: true,
    stream_options: { include_usage: true },
    ...(chat ? { messages: [{ role: "user", content: prompt }] } : { prompt }),
  });
  const response = http.post(`${baseUrl}/v1/${chat ? "chat/completions" : "completions"}`, body, { headers: headers(), tags: { kind: chat ? "chat" : "completion" } });
  if (response.status >= 500) serverErrors.add(1);
  const text = String(response.body ?? "");
  const ok = check(response, {
    "200": (r) => r.status === 200,
    "ends with [DONE]": () => text.trimEnd().endsWith("data: [DONE]") && !text.includes('"error"'),
  });
  if (!ok) return;
  ttft.add(response.timings.waiting);
  const usage = /"completion_tokens":(\d+)/.exec(text.slice(text.lastIndexOf('"usage"')));
  const tokens = usage === null ? 0 : Number(usage[1]);
  if (tokens > 1) itl.add((response.timings.duration - response.timings.waiting) / (tokens - 1));
}
