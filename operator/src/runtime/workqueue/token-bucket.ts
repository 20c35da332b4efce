import type { Clock } from '../clock.ts';

/**
 * A token bucket, like Go's rate.Limiter: reserve() always gets a slot, possibly in the
 * future, so callers are served in order and nobody busy-waits; take() takes a token only
 * if there is one now, for a caller that decides itself who gets the next one.
 */
export class TokenBucket {
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private last: number;

  constructor(qps: number, burst: number, clock: Clock) {
    this.qps = qps;
    // A bucket smaller than one token could never hand out a token; Go's Reserve would refuse forever.
    this.burst = burst >= 1 ? Math.floor(burst) : 1;
    this.clock = clock;
    this.tokens = this.burst;
    this.last = clock.now();
  }

  /** Takes a token now (the balance may go negative) and returns how many ms until it may be used. */
  reserve(): number {
    if (this.unlimited()) return 0;
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  /** Takes a token if there is a whole one now (0); otherwise takes nothing and returns the ms until there will be. */
  take(): number {
    if (this.unlimited()) return 0;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return ((1 - this.tokens) * 1000) / this.qps;
  }

  private unlimited(): boolean {
    return !(this.qps > 0) || this.qps === Infinity;
  }

  private refill(): void {
    const now = this.clock.now();
    // A clock stepped backwards must not mint tokens later when it catches up.
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
      this.last = now;
    }
  }
}
