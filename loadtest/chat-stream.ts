/**
 * Constant arrival rate of streaming chat completions: time to first byte (the first SSE event)
 * and whole-stream time, with the stream checked to end in `data: [DONE]`.
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 -e RATE=4 loadtest/chat-stream.ts
 */
import { check } from "k6";
import http from "k6/http";
import { Trend } from "k6/metrics";
import type { Options } from "k6/options";
import { baseUrl, headers, maxTokens, model, prompts } from "./config.ts";

/** Whole-stream time; a time Trend takes milliseconds, as k6's timings are. */
const streamDuration = new Trend("stream_duration", true);

export const options: Options = {
  scenarios: {
    arrivals: {
      executor: "constant-arrival-rate",
      rate: Number(__ENV.RATE ?? 4),
      timeUnit: "1s",
      duration: __ENV.DURATION ?? "1m",
      preAllocatedVUs: 16,
      maxVUs: 64,
    },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    // k6 reads the whole body, so waiting is the time to the first streamed byte.
    http_req_waiting: [`p(95)<${Number(__ENV.TTFB_P95_MS ?? 1000)}`],
    checks: ["rate>0.99"],
  },
};

export default function (): void {
  const body = JSON.stringify({
    model,
    messages: [{ role: "user", content: prompts[__ITER % prompts.length] }],
    max_tokens: maxTokens,
    stream: true,
    stream_options: { include_usage: true },
  });
  const response = http.post(`${baseUrl}/v1/chat/completions`, body, { headers: headers() });
  streamDuration.add(response.timings.duration);
  check(response, {
    "200": (r) => r.status === 200,
    "event stream": (r) => String(r.headers["Content-Type"] ?? "").startsWith("text/event-stream"),
    "ends with [DONE]": (r) => String(r.body ?? "").trimEnd().endsWith("data: [DONE]"),
  });
}
