/**
 * The store could not be reached (down, frozen, reconnecting) within STORE_TIMEOUT_MS. Routes
 * that need it answer 503 store_unavailable with this Retry-After; the rest carry on.
 */
export class StoreUnavailable extends Error {
  constructor(
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super("The store is unreachable", options);
    this.name = "StoreUnavailable";
  }
}
