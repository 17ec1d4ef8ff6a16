/**
 * Finds stop strings in streamed text. Text that might be the start of a stop string is held
 * back until it is known not to be, so a stop string is never sent, even partly.
 */
export class StopMatcher {
  private buffer = "";
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {}

  get hasStopped(): boolean {
    return this.stopped;
  }

  /** Returns the text that is safe to emit now. */
  push(text: string): string {
    if (this.stopped) return "";
    this.buffer += text;
    const hit = this.earliestStop();
    if (hit >= 0) {
      this.stopped = true;
      const released = this.buffer.slice(0, hit);
      this.buffer = "";
      return released;
    }
    const keep = this.longestPartialStop();
    const released = this.buffer.slice(0, this.buffer.length - keep);
    this.buffer = this.buffer.slice(this.buffer.length - keep);
    return released;
  }

  /** Releases held text at the end of generation. */
  flush(): string {
    const released = this.stopped ? "" : this.buffer;
    this.buffer = "";
    return released;
  }

  private earliestStop(): number {
    let earliest = -1;
    for (const stop of this.stops) {
      const index = this.buffer.indexOf(stop);
      if (index >= 0 && (earliest < 0 || index < earliest)) earliest = index;
    }
    return earliest;
  }

  private longestPartialStop(): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, this.buffer.length); length > longest; length--) {
        if (this.buffer.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
