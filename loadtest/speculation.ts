/**
 * The same greedy requests with speculative decoding off and on ({k, l} from K and L, default
 * 4 and 4), one scenario after the other at the same concurrency: compare the two scenarios'
 * `http_req_duration{scenario:...}` in the summary; also checks the usage extension is there.
 *   k6 run -e BASE_URL=http://127.0.0.1:8080 loadtest/speculation.ts
 */
import { check } from "k6";
import http from "k6/http";
import type { Options } from "k6/options";
import { baseUrl, headers, maxTokens, model, prompts } from "./config.ts";

const shape = { k: Number(__ENV.K ?? 4), l: Number(__ENV.L ?? 4) };
const duration = __ENV.DURATION ?? "30s";

export const options: Options = {
  scenarios: {
    plain: { executor: "constant-vus", vus: 4, duration, env: { SPECULATION: "off" } },
    speculative: { executor: "constant-vus", vus: 4, duration, startTime: duration, env: { SPECULATION: "on" } },
  },
  thresholds: {
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
    "http_req_duration{scenario:plain}": ["p(50)>0"],
    "http_req_duration{scenario:speculative}": ["p(50)>0"],
  },
};

export default function (): void {
  const speculative = __ENV.SPECULATION === "on";
  const body = JSON.stringify({
    model,
    prompt: prompts[__ITER % prompts.length],
    max_tokens: maxTokens,
    temperature: 0,
    speculation: speculative ? shape : "off",
  });
  const response = http.post(`${baseUrl}/v1/completions`, body, { headers: headers() });
  check(response, {
    "200": (r) => r.status === 200,
    "usage.spec_decode only when speculating": (r) => (r.json("usage.spec_decode") != null) === speculative,
  });
}
