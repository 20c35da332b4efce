/**
 * Writes for different tasks run concurrently, at most `limit` at once (the rest wait in
 * order); shutdown waits for all of them. A write must handle its own errors.
 */
export class WritePool {
  private readonly limit: number;
  private readonly waiting: (() => Promise<void>)[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private running = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Starts `write` now or when a place frees up. */
  run(write: () => Promise<void>): void {
    this.waiting.push(write);
    this.next();
  }

  /** A write started elsewhere that shutdown must wait for, outside the limit. */
  track(write: Promise<void>): void {
    this.inFlight.add(write);
    void write.finally(() => this.inFlight.delete(write));
  }

  get queued(): number {
    return this.waiting.length;
  }

  async drain(): Promise<void> {
    while (this.inFlight.size > 0 || this.waiting.length > 0) await Promise.allSettled([...this.inFlight]);
  }

  private next(): void {
    while (this.running < this.limit) {
      const write = this.waiting.shift();
      if (write === undefined) return;
      this.running++;
      const done = write()
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.next();
        });
      this.track(done);
    }
  }
}
