import type { Logger } from "pino";

export interface RequestLogFields {
  model?: string;
  prompt_tokens?: number;
  completion_tokens?: number;
  queue_ms?: number;
  ttft_ms?: number;
  error?: string;
  /** The request's prompt or messages, only with LOG_PROMPTS=true. */
  prompt?: unknown;
}

/**
 * The one JSON line written per request. Streaming responses outlive their handler, so the line
 * is written when the last byte is sent (`finish`), whichever code path gets there first.
 */
export class RequestLog {
  private readonly fields: RequestLogFields = {};
  /** performance.now() when the request arrived; latencies users see count from here. */
  readonly arrivedAt = performance.now();
  private written = false;
  /** Set by handlers whose response body is still being produced after they return. */
  deferred = false;
  /**
   * Set when a failure status is the designed answer, not something to alert on: /ready's 503
   * while loading or draining is "info", other routes' not_ready / shutting_down 503s "warn".
   */
  level: "info" | "warn" | undefined;

  constructor(
    private readonly logger: Logger,
    readonly requestId: string,
    private readonly method: string,
    private readonly path: string,
    /** Told once, when the request has really ended (its last byte sent). */
    private readonly onFinish: () => void = () => undefined,
  ) {}

  set(fields: RequestLogFields): void {
    Object.assign(this.fields, fields);
  }

  finish(status: number): void {
    if (this.written) return;
    this.written = true;
    this.onFinish();
    const level = this.level ?? (status >= 500 ? "error" : status >= 400 ? "warn" : "info");
    this.logger[level]({
      request_id: this.requestId,
      method: this.method,
      path: this.path,
      status,
      ...this.fields,
      total_ms: Math.round((performance.now() - this.arrivedAt) * 100) / 100,
    }, "request");
  }
}
