import type { Logger } from "pino";

/**
 * Whether the store answers, as a circuit breaker: the first failure opens it (logged once),
 * calls then fail at once instead of each waiting out the timeout, and a probe every
 * `probeMs` closes it again on its first success (logged once).
 */
export class StoreHealth {
  private down = false;
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly probe: () => Promise<void>,
    private readonly probeMs: number,
  ) {}

  get reachable(): boolean {
    return !this.down;
  }

  failed(error: unknown): void {
    if (this.down) return;
    this.down = true;
    this.logger.error({ err: describe(error) }, "store unreachable: routes that need it answer 503 store_unavailable until it is back");
    this.scheduleProbe();
  }

  succeeded(): void {
    if (!this.down) return;
    this.down = false;
    clearTimeout(this.probeTimer);
    this.logger.info("store reachable again");
  }

  close(): void {
    clearTimeout(this.probeTimer);
    this.down = false;
  }

  private scheduleProbe(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => {
      this.probe().then(
        () => this.succeeded(),
        () => {
          if (this.down) this.scheduleProbe();
        },
      );
    }, this.probeMs);
    this.probeTimer.unref();
  }
}

/** ioredis errors carry the connection's internals; the message and code are what an operator needs. */
function describe(error: unknown): { message: string; code?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? { message: error.message, code } : { message: error.message };
}
