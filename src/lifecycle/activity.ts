/** Counts work in progress and lets shutdown wait, up to a deadline, for it to end. */
export class Activity {
  private open = 0;
  private readonly idleListeners = new Set<() => void>();

  get count(): number {
    return this.open;
  }

  /** Marks one piece of work begun; call the returned function exactly once when it ends. */
  begin(): () => void {
    this.open++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.open--;
      if (this.open === 0) for (const listener of this.idleListeners) listener();
    };
  }

  /** Resolves once nothing is open, however long that takes. */
  idle(): Promise<void> {
    if (this.open === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const onIdle = (): void => {
        this.idleListeners.delete(onIdle);
        resolve();
      };
      this.idleListeners.add(onIdle);
    });
  }

  /** Resolves true once nothing is open, false if the deadline passes first. */
  waitForIdle(deadlineMs: number): Promise<boolean> {
    if (this.open === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (idle: boolean): void => {
        clearTimeout(timer);
        this.idleListeners.delete(onIdle);
        resolve(idle);
      };
      const onIdle = (): void => done(true);
      const timer = setTimeout(() => done(false), deadlineMs);
      this.idleListeners.add(onIdle);
    });
  }
}
