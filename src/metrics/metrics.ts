import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SpectrFigures } from "../engine/decoding/spectr.ts";

/** Live figures the gauges read when Prometheus scrapes. */
export interface MetricsSources {
  running(): number;
  waiting(): number;
  activeSequences(): number;
  activeDraftSequences(): number;
}

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
const documentBytesBuckets = [1_024, 2_048, 4_096, 8_192, 16_384, 32_768, 65_536, 131_072, 262_144];
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
  readonly specDrafts: Counter<"model_name">;
  readonly specDraftTokens: Counter<"model_name">;
  readonly specAcceptedTokens: Counter<"model_name">;
  readonly specAcceptedTokensPerPosition: Counter<"model_name" | "position">;
  readonly rerankCacheHits: Counter<"model_name">;
  readonly rerankCacheMisses: Counter<"model_name">;
  readonly rerankCacheSkipped: Counter<"model_name">;
  readonly rerankCacheErrors: Counter<"model_name">;
  readonly rerankCacheDocumentBytes: Histogram<"model_name">;

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
    const counter = (name: string, help: string): Counter<"model_name"> => new Counter({ name, help, labelNames: ["model_name"], registers });
    this.specDrafts = counter("spec_decode_num_drafts", "Draft continuations proposed by speculative decoding (K per block).");
    this.specDraftTokens = counter("spec_decode_num_draft_tokens", "Tokens proposed by the draft model.");
    this.specAcceptedTokens = counter("spec_decode_num_accepted_tokens", "Generated tokens that a draft had proposed.");
    this.specAcceptedTokensPerPosition = new Counter({
      name: "spec_decode_num_accepted_tokens_per_pos",
      help: "Blocks that kept a draft token at each draft position (0 = first).",
      labelNames: ["model_name", "position"],
      registers,
    });
    this.rerankCacheHits = counter("rerank_document_cache_hits_total", "Documents whose stored token form was found in the document-token cache.");
    this.rerankCacheMisses = counter("rerank_document_cache_misses_total", "Documents encoded because the document-token cache did not hold them.");
    this.rerankCacheSkipped = counter("rerank_document_cache_skipped_total", "Encoded documents not stored: the cache's byte allowance for the window was spent (RERANK_CACHE_MAX_BYTES).");
    this.rerankCacheErrors = counter("rerank_document_cache_errors_total", "Store failures of the document-token cache (the rerank went on without it).");
    this.rerankCacheDocumentBytes = histogram("rerank_document_cache_document_bytes", "Bytes of each document stored in the document-token cache (its reduced token vectors as halves).", documentBytesBuckets);
    const gauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    };
    gauge("num_requests_running", "Requests admitted: holding sequences (generation) or a rerank slot.", sources.running);
    gauge("num_requests_waiting", "Requests queued for sequences or a rerank slot.", sources.waiting);
    gauge("num_sequences_active", "Context sequences leased to requests.", sources.activeSequences);
    gauge("num_draft_sequences_active", "Draft-model sequences leased to speculative requests.", sources.activeDraftSequences);
  }

  /** One choice's speculative decoding figures. */
  recordSpeculation(model: string, figures: SpectrFigures): void {
    const labels = { model_name: model };
    this.specDrafts.inc(labels, figures.drafts);
    this.specDraftTokens.inc(labels, figures.draftedTokens);
    this.specAcceptedTokens.inc(labels, figures.acceptedTokens);
    figures.acceptedByPosition.forEach((accepted, position) => {
      if (accepted > 0) this.specAcceptedTokensPerPosition.inc({ ...labels, position: String(position) }, accepted);
    });
  }
}
