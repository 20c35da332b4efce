import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cdf, percentile, ratePerSecond, summarize, sustainedRate } from './stats.ts';

describe('percentile (nearest rank)', () => {
  it.each([
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50, 5],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, 9],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99, 10],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 100, 10],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0, 1],
    [[42], 99, 42],
    [[30, 10, 20], 50, 20],
  ])('of %j at p%d is %d', (samples, p, expected) => {
    expect(percentile(samples, p)).toBe(expected);
  });

  it('is NaN without samples', () => {
    expect(percentile([], 50)).toBeNaN();
  });

  it('is always a measured value, between the smallest and the largest, and grows with p', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { minLength: 1 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (xs, a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          expect(xs).toContain(percentile(xs, lo));
          expect(percentile(xs, lo)).toBeLessThanOrEqual(percentile(xs, hi));
          expect(percentile(xs, 100)).toBe(Math.max(...xs));
        },
      ),
    );
  });

  it('does not reorder the samples it is given', () => {
    const xs = [3, 1, 2];
    percentile(xs, 50);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('summarize', () => {
  it('agrees with percentile', () => {
    const xs = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    expect(summarize(xs)).toEqual({ count: 1000, p50: percentile(xs, 50), p90: percentile(xs, 90), p99: percentile(xs, 99), max: 999 });
  });
});

describe('cdf', () => {
  it('rises from the smallest sample to 1 at the largest, never falling', () => {
    const xs = Array.from({ length: 5000 }, (_, i) => 5000 - i);
    const points = cdf(xs, 100);
    expect(points.length).toBeLessThanOrEqual(101);
    expect(points.at(-1)).toEqual([5000, 1]);
    for (let i = 1; i < points.length; i++) {
      expect(points[i]?.[0]).toBeGreaterThanOrEqual(points[i - 1]?.[0] ?? 0);
      expect(points[i]?.[1]).toBeGreaterThan(points[i - 1]?.[1] ?? 0);
    }
  });

  it('keeps every sample of a small set', () => {
    expect(cdf([20, 10], 100)).toEqual([
      [10, 0.5],
      [20, 1],
    ]);
    expect(cdf([])).toEqual([]);
  });
});

describe('rates', () => {
  it('counts events per second bucket from the start, empty seconds included', () => {
    expect(ratePerSecond([100, 200, 2500], 0)).toEqual([
      [0, 2],
      [1, 0],
      [2, 1],
    ]);
    expect(ratePerSecond([1000, 1500, 3500], 1000, 2)).toEqual([
      [0, 1],
      [2, 0.5],
    ]);
  });

  it('takes the sustained rate over the middle 80%, leaving the ramp and the tail out', () => {
    // 100 events 10 ms apart, then one straggler 10 s later.
    const times = [...Array.from({ length: 100 }, (_, i) => i * 10), 10_000];
    expect(sustainedRate(times)).toBeCloseTo((101 * 0.8) / 0.8, 0);
    expect(sustainedRate([5])).toBeNaN();
  });
});
