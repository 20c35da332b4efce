import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../../test/support/fake-clock.ts';
import type { Clock } from '../clock.ts';
import { TokenBucket } from './token-bucket.ts';

function reserveMany(bucket: TokenBucket, n: number): number[] {
  return Array.from({ length: n }, () => bucket.reserve());
}

describe('TokenBucket', () => {
  it.each([
    { name: 'burst then qps spacing', qps: 10, burst: 3, n: 6, delays: [0, 0, 0, 100, 200, 300] },
    { name: 'burst 1 spaces every call', qps: 2, burst: 1, n: 4, delays: [0, 500, 1000, 1500] },
    { name: 'burst below 1 acts as 1', qps: 4, burst: 0, n: 3, delays: [0, 250, 500] },
    { name: 'qps 0 is unlimited', qps: 0, burst: 1, n: 5, delays: [0, 0, 0, 0, 0] },
    { name: 'negative qps is unlimited', qps: -1, burst: 1, n: 3, delays: [0, 0, 0] },
    { name: 'infinite qps is unlimited', qps: Infinity, burst: 1, n: 3, delays: [0, 0, 0] },
  ])('$name', ({ qps, burst, n, delays }) => {
    expect(reserveMany(new TokenBucket(qps, burst, new FakeClock()), n)).toEqual(delays);
  });

  it('refills at qps', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 2, clock);
    expect(reserveMany(bucket, 2)).toEqual([0, 0]);
    await clock.advance(100);
    expect(bucket.reserve()).toBe(0);
    expect(bucket.reserve()).toBe(100);
    // The last reservation is 100 ms in the future, so 150 ms later half a token has accrued.
    await clock.advance(150);
    expect(bucket.reserve()).toBe(50);
  });

  it('refills no further than burst', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 3, clock);
    reserveMany(bucket, 3);
    await clock.advance(3_600_000);
    expect(reserveMany(bucket, 4)).toEqual([0, 0, 0, 100]);
  });

  it('mints no tokens when the clock steps back and returns', () => {
    let t = 10_000;
    const clock: Clock = { now: () => t, setTimer: () => () => undefined, sleep: () => Promise.resolve() };
    const bucket = new TokenBucket(1, 1, clock);
    expect(bucket.reserve()).toBe(0);
    t -= 5_000;
    expect(bucket.reserve()).toBe(1000);
    t += 5_000;
    expect(bucket.reserve()).toBe(2000);
  });

  it('n reservations at one instant wait (n - burst) / qps seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 200 }), (qps, burst, n) => {
        const delays = reserveMany(new TokenBucket(qps, burst, new FakeClock()), n);
        delays.forEach((delay, i) => {
          expect(delay).toBeCloseTo((Math.max(0, i + 1 - burst) * 1000) / qps, 6);
        });
      }),
    );
  });

  it.each([
    { name: 'a whole token, then the time to the next', qps: 10, burst: 2, n: 4, waits: [0, 0, 100, 100] },
    { name: 'unlimited', qps: 0, burst: 1, n: 3, waits: [0, 0, 0] },
  ])('take: $name, and nothing is taken while it waits', ({ qps, burst, n, waits }) => {
    const bucket = new TokenBucket(qps, burst, new FakeClock());
    expect(Array.from({ length: n }, () => bucket.take())).toEqual(waits);
  });

  it('take after a partial refill waits only for the rest of the token', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(10, 1, clock);
    expect(bucket.take()).toBe(0);
    await clock.advance(40);
    expect(bucket.take()).toBeCloseTo(60, 6);
    await clock.advance(60);
    expect(bucket.take()).toBe(0);
  });
});
