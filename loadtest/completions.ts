/**
 * Ramp of concurrent clients on /v1/completions (non-streaming), half greedy and half sampled:
 * throughput, latency percentiles and errors. Thresholds fail the run on any server error or a
 * p95 latency above LATENCY_P95_MS (default 5000).
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/completions.ts
 */
import { check } from "k6";
import http from "k6/http";
import { Counter } from "k6/metrics";
import type { Options } from "k6/options";
import { baseUrl, headers, maxTokens, model, prompts } from "./config.ts";

const completionTokens = new Counter("completion_tokens");

export const options: Options = {
  scenarios: {
    ramp: {
      executor: "ramping-vus",
      startVUs: 1,
      stages: [
        { duration: "30s", target: 8 },
        { duration: "1m", target: 8 },
        { duration: "30s", target: 16 },
        { duration: "30s", target: 0 },
      ],
    },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    http_req_duration: [`p(95)<${Number(__ENV.LATENCY_P95_MS ?? 5000)}`],
    checks: ["rate>0.99"],
  },
};

export default function (): void {
  const body = JSON.stringify({
    model,
    prompt: prompts[__ITER % prompts.length],
    max_tokens: maxTokens,
    temperature: __VU % 2 === 0 ? 0 : 1,
  });
  // 429 (queue full) is the gateway shedding load as configured, not a failure of the request path.
  const response = http.post(`${baseUrl}/v1/completions`, body, { headers: headers(), responseCallback: http.expectedStatuses(200, 429) });
  check(response, {
    "200 or 429": (r) => r.status === 200 || r.status === 429,
    "a completion when 200": (r) => r.status !== 200 || typeof r.json("choices.0.text") === "string",
  });
  if (response.status === 200) completionTokens.add(Number(response.json("usage.completion_tokens")));
}
