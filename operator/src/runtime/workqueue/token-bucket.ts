import type { Clock } from '../clock.ts';

/**
 * A token bucket with reservations, like Go's rate.Limiter: a caller always gets a slot,
 * possibly in the future, so callers are served in order and nobody busy-waits.
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
    if (!(this.qps > 0) || this.qps === Infinity) return 0;
    const now = this.clock.now();
    // A clock stepped backwards must not mint tokens later when it catches up.
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
      this.last = now;
    }
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens * 1000) / this.qps;
  }

  /** Waits for a token. An abort ends the wait early but the token stays spent. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const delay = this.reserve();
    // No timer for a token already in hand: a zero sleep would still wait for the clock.
    if (delay > 0) await this.clock.sleep(delay, signal);
  }
}
