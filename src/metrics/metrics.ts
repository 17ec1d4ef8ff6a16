import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Live figures the gauges read when Prometheus scrapes. */
export interface MetricsSources {
  running(): number;
  waiting(): number;
  activeSequences(): number;
}

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const tokenLatencyBuckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];

/** Prometheus metrics under the vLLM-style names users look for. */
export class Metrics {
  readonly registry = new Registry();
  readonly timeToFirstToken: Histogram<"model_name">;
  readonly interTokenLatency: Histogram<"model_name">;
  readonly e2eLatency: Histogram<"model_name">;
  readonly queueTime: Histogram<"model_name">;
  readonly promptTokens: Counter<"model_name">;
  readonly generationTokens: Counter<"model_name">;
  readonly httpRequests: Counter<"method" | "route" | "status">;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const histogram = (name: string, help: string, buckets: number[]): Histogram<"model_name"> =>
      new Histogram({ name, help, labelNames: ["model_name"], buckets, registers });
    this.timeToFirstToken = histogram("time_to_first_token_seconds", "Time from arrival to the first generated token.", latencyBuckets);
    this.interTokenLatency = histogram("inter_token_latency_seconds", "Time between consecutive generated tokens.", tokenLatencyBuckets);
    this.e2eLatency = histogram("e2e_request_latency_seconds", "Time from arrival to the last token.", latencyBuckets);
    this.queueTime = histogram("request_queue_time_seconds", "Time spent waiting for sequences.", latencyBuckets);
    this.promptTokens = new Counter({ name: "prompt_tokens_total", help: "Prompt tokens processed.", labelNames: ["model_name"], registers });
    this.generationTokens = new Counter({ name: "generation_tokens_total", help: "Tokens generated.", labelNames: ["model_name"], registers });
    this.httpRequests = new Counter({ name: "http_requests_total", help: "HTTP responses by route and status.", labelNames: ["method", "route", "status"], registers });
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    };
    gauge("num_requests_running", "Requests holding sequences.", sources.running);
    gauge("num_requests_waiting", "Requests queued for sequences.", sources.waiting);
    gauge("num_sequences_active", "Context sequences leased to requests.", sources.activeSequences);
  }
}
