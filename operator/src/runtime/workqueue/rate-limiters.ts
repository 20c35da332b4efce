import type { Clock } from '../clock.ts';
import { TokenBucket } from './token-bucket.ts';

/** Decides how long a key waits before its next retry (client-go's RateLimiter). */
export interface RateLimiter {
  /** Delay in ms before `key` may be retried; counts as one more failure. */
  when(key: string): number;
  /** The key succeeded: clear its failure history. */
  forget(key: string): void;
  numRequeues(key: string): number;
}

/** base * 2^failures, capped at max, per key. */
export class ItemExponentialFailureRateLimiter implements RateLimiter {
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly failures = new Map<string, number>();

  constructor(baseMs: number, maxMs: number) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }

  when(key: string): number {
    const exp = this.failures.get(key) ?? 0;
    this.failures.set(key, exp + 1);
    // Bounding the exponent keeps 2^exp finite, so base 0 gives 0 rather than NaN.
    return Math.min(this.baseMs * 2 ** Math.min(exp, 1000), this.maxMs);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** An overall retry rate shared by all keys, so a mass failure cannot stampede the API server. */
export class BucketRateLimiter implements RateLimiter {
  private readonly bucket: TokenBucket;

  constructor(bucket: TokenBucket) {
    this.bucket = bucket;
  }

  when(_key: string): number {
    return this.bucket.reserve();
  }

  forget(_key: string): void {
    // The bucket is shared, not per key: nothing to forget.
  }

  numRequeues(_key: string): number {
    return 0;
  }
}

/** The strictest of several limiters. */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    // Every limiter must see the failure (and a bucket must reserve), even when another one wins.
    let delay = 0;
    for (const limiter of this.limiters) delay = Math.max(delay, limiter.when(key));
    return delay;
  }

  forget(key: string): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  numRequeues(key: string): number {
    let n = 0;
    for (const limiter of this.limiters) n = Math.max(n, limiter.numRequeues(key));
    return n;
  }
}

/** client-go's DefaultControllerRateLimiter: 5 ms doubling to 1000 s per key, and 10 qps (burst 100) overall. */
export function defaultControllerRateLimiter(clock: Clock): RateLimiter {
  return new MaxOfRateLimiter(new ItemExponentialFailureRateLimiter(5, 1_000_000), new BucketRateLimiter(new TokenBucket(10, 100, clock)));
}
