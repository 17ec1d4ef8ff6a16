/**
 * CPU-bound scoring in slices: once a slice has run `sliceMs`, `next` yields to the event loop
 * (so /health, /metrics and other requests are answered while 1000 documents are scored) and
 * stops the work if its request was aborted meanwhile (client gone, timeout).
 */
export class Slices {
  private sliceStart = performance.now();

  constructor(
    private readonly signal?: AbortSignal,
    private readonly sliceMs = 10,
  ) {}

  async next(): Promise<void> {
    if (performance.now() - this.sliceStart < this.sliceMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    this.signal?.throwIfAborted();
    this.sliceStart = performance.now();
  }
}
