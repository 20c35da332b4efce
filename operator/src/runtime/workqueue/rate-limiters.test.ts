import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../test/support/fake-clock.ts';
import {
  BucketRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  defaultControllerRateLimiter,
  type RateLimiter,
} from './rate-limiters.ts';
import { TokenBucket } from './token-bucket.ts';

class Recording implements RateLimiter {
  readonly calls: string[] = [];
  private readonly delay: number;
  private readonly requeues: number;

  constructor(delay: number, requeues: number) {
    this.delay = delay;
    this.requeues = requeues;
  }

  when(key: string): number {
    this.calls.push(`when ${key}`);
    return this.delay;
  }

  forget(key: string): void {
    this.calls.push(`forget ${key}`);
  }

  numRequeues(): number {
    return this.requeues;
  }
}

describe('ItemExponentialFailureRateLimiter', () => {
  it('doubles from base per failure and caps at max', () => {
    const limiter = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    const delays = Array.from({ length: 22 }, () => limiter.when('ns/a'));
    expect(delays.slice(0, 6)).toEqual([5, 10, 20, 40, 80, 160]);
    // 5 * 2^17 = 655360 is the last step under the cap; 5 * 2^18 would pass it.
    expect(delays[17]).toBe(655_360);
    expect(delays.slice(18)).toEqual([1_000_000, 1_000_000, 1_000_000, 1_000_000]);
    expect(limiter.numRequeues('ns/a')).toBe(22);
  });

  it('counts keys separately and forget starts a key over', () => {
    const limiter = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    limiter.when('ns/a');
    limiter.when('ns/a');
    expect(limiter.when('ns/b')).toBe(5);
    expect(limiter.numRequeues('ns/a')).toBe(2);
    limiter.forget('ns/a');
    expect(limiter.numRequeues('ns/a')).toBe(0);
    expect(limiter.when('ns/a')).toBe(5);
    expect(limiter.numRequeues('ns/b')).toBe(1);
  });

  it('stays at max after very many failures', () => {
    const limiter = new ItemExponentialFailureRateLimiter(5, 1_000_000);
    for (let i = 0; i < 5000; i++) limiter.when('k');
    expect(limiter.when('k')).toBe(1_000_000);
    const zero = new ItemExponentialFailureRateLimiter(0, 1000);
    for (let i = 0; i < 5000; i++) zero.when('k');
    expect(zero.when('k')).toBe(0);
  });
});

describe('BucketRateLimiter', () => {
  it('delays by the bucket and keeps no per-key state', () => {
    const limiter = new BucketRateLimiter(new TokenBucket(10, 2, new FakeClock()));
    expect([limiter.when('a'), limiter.when('a'), limiter.when('b'), limiter.when('c')]).toEqual([0, 0, 100, 200]);
    expect(limiter.numRequeues('a')).toBe(0);
  });
});

describe('MaxOfRateLimiter', () => {
  it.each([
    { name: 'first is larger', delays: [30, 10], requeues: [1, 4], when: 30, num: 4 },
    { name: 'second is larger', delays: [10, 30], requeues: [4, 1], when: 30, num: 4 },
    { name: 'single limiter', delays: [7], requeues: [2], when: 7, num: 2 },
    { name: 'no limiters', delays: [], requeues: [], when: 0, num: 0 },
  ])('$name', ({ delays, requeues, when, num }) => {
    const limiters = delays.map((d, i) => new Recording(d, requeues[i] ?? 0));
    const max = new MaxOfRateLimiter(...limiters);
    expect(max.when('k')).toBe(when);
    expect(max.numRequeues('k')).toBe(num);
  });

  it('asks and tells every limiter', () => {
    const a = new Recording(1, 0);
    const b = new Recording(2, 0);
    const max = new MaxOfRateLimiter(a, b);
    max.when('k');
    max.forget('k');
    expect(a.calls).toEqual(['when k', 'forget k']);
    expect(b.calls).toEqual(['when k', 'forget k']);
  });
});

describe('defaultControllerRateLimiter', () => {
  it('backs off per key and shares a 10 qps, burst 100 bucket', () => {
    const limiter = defaultControllerRateLimiter(new FakeClock());
    expect([limiter.when('k'), limiter.when('k'), limiter.when('k')]).toEqual([5, 10, 20]);
    for (let i = 0; i < 97; i++) expect(limiter.when(`key-${i}`)).toBe(5);
    // The bucket is empty: the next new key waits for it rather than for its own backoff.
    expect(limiter.when('fresh')).toBe(100);
    expect(limiter.when('fresh2')).toBe(200);
    expect(limiter.numRequeues('k')).toBe(3);
    limiter.forget('k');
    expect(limiter.numRequeues('k')).toBe(0);
  });
});
