import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { burnOf, burnOfTime, burnThresholds, healthOf, pairRate, type Health } from './burn.ts';
import type { SliEvent } from './indicator.ts';

const NOW = 1_800_000_000_000;
const MIN = 60_000;

/** `n` events spread evenly over the `spanMs` before NOW, every `badEvery`-th bad (0: none). */
function spread(n: number, spanMs: number, badEvery = 0): SliEvent[] {
  return Array.from({ length: n }, (_, i) => ({ at: NOW - ((i + 0.5) * spanMs) / n, good: badEvery === 0 || i % badEvery !== 0 }));
}

describe('burnThresholds', () => {
  it.each([
    [30, 14.4, 6],
    [7, 3.36, 1.4],
    [28, 13.44, 5.6],
  ])('%i days: fast %f, slow %f (the workbook’s 2%% of the budget in 1h, 5%% in 6h)', (days, fast, slow) => {
    const t = burnThresholds(days);
    expect(t.fast).toBeCloseTo(fast, 10);
    expect(t.slow).toBeCloseTo(slow, 10);
  });
});

describe('burnOf', () => {
  it('counts each window’s events and divides the error ratio by the budget', () => {
    // 99%: a budget of 1%. In the last 5 minutes 10 events, 1 bad: 10% errors, burn 10.
    const burn = burnOf([...spread(10, 5 * MIN, 10), ...spread(90, 55 * MIN).map((e) => ({ ...e, at: e.at - 5 * MIN }))], 99, 30, NOW);
    expect([burn.windows['5m'].total, burn.windows['5m'].bad, burn.windows['1h'].total, burn.windows['1h'].bad]).toEqual([10, 1, 100, 1]);
    expect(burn.windows['5m'].rate).toBeCloseTo(10, 10);
    expect(burn.windows['1h'].rate).toBeCloseTo(1, 10);
    expect(burn.budgetLeft).toBeCloseTo(0, 10);
  });

  it('is calm with no events: rate 0 and the whole budget left', () => {
    const burn = burnOf([], 99.9, 30, NOW);
    expect(Object.values(burn.windows).map((w) => w.rate)).toEqual([0, 0, 0, 0]);
    expect(burn.budgetLeft).toBe(1);
  });

  it('ignores events outside the window and in the future', () => {
    const burn = burnOf(
      [
        { at: NOW - 31 * 86_400_000, good: false },
        { at: NOW + 1000, good: false },
        { at: NOW - 1000, good: true },
      ],
      99,
      30,
      NOW,
    );
    expect(burn.total).toBe(1);
    expect(burn.budgetLeft).toBe(1);
  });

  it('property: burn rate = error ratio / budget, from 0 (all good) to 1/budget (all bad), in every window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ago: fc.integer({ min: 0, max: 7 * 3_600_000 }), good: fc.boolean() }), { maxLength: 200 }),
        fc.double({ min: 50, max: 99.999, noNaN: true }),
        (raw, objective) => {
          const events = raw.map((e) => ({ at: NOW - e.ago, good: e.good }));
          const burn = burnOf(events, objective, 30, NOW);
          const budget = 1 - objective / 100;
          return Object.values(burn.windows).every(
            (w) =>
              w.rate >= 0 &&
              w.rate <= 1 / budget + 1e-9 &&
              (w.total === 0 ? w.rate === 0 : Math.abs(w.rate - w.bad / w.total / budget) < 1e-9),
          );
        },
      ),
    );
  });
});

describe('burnOfTime (QueueAge)', () => {
  it('counts the union of the bad stretches in each window, overlaps once', () => {
    // Two tasks late over the same 3 minutes, one more 10 minutes later for 2: 5 bad minutes in the hour.
    const burn = burnOfTime(
      [
        { from: NOW - 20 * MIN, to: NOW - 17 * MIN },
        { from: NOW - 19 * MIN, to: NOW - 18 * MIN },
        { from: NOW - 7 * MIN, to: NOW - 5 * MIN },
      ],
      99,
      30,
      NOW,
    );
    expect(burn.windows['1h'].bad).toBe(5 * MIN);
    expect(burn.windows['1h'].rate).toBeCloseTo(5 / 60 / 0.01, 10);
    expect(burn.windows['5m'].bad).toBe(0);
    expect(burn.windows['30m'].bad).toBe(5 * MIN);
  });

  it('clips a stretch at the window’s start, and one still open counts until now', () => {
    const burn = burnOfTime([{ from: NOW - 10 * MIN, to: NOW }], 99, 30, NOW);
    expect(burn.windows['5m'].bad).toBe(5 * MIN);
    expect(burn.windows['5m'].rate).toBeCloseTo(1 / 0.01, 10);
    expect(healthOf(burn, 30)).toBe('FastBurn');
  });

  it('property: the bad share of a window is between 0 and 1, and never more than the sum of the stretches', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ago: fc.integer({ min: 0, max: 7 * 3_600_000 }), length: fc.integer({ min: 1, max: 3_600_000 }) }), {
          maxLength: 50,
        }),
        (raw) => {
          const stretches = raw.map((r) => ({ from: NOW - r.ago, to: Math.min(NOW, NOW - r.ago + r.length) })).filter((b) => b.to > b.from);
          const burn = burnOfTime(stretches, 99, 30, NOW);
          const sum = stretches.reduce((n, b) => n + (b.to - b.from), 0);
          return Object.values(burn.windows).every((w) => w.bad >= 0 && w.bad <= w.total && w.bad <= sum);
        },
      ),
    );
  });
});

describe('healthOf', () => {
  // 99% over 30 days: fast above 14.4 (14.4% errors), slow above 6 (6% errors).
  const at = (errors5m: number, errors1h: number, errors30m: number, errors6h: number): Health => {
    const mk = (rate: number): { total: number; bad: number; rate: number } => ({ total: 1000, bad: rate * 10, rate });
    return healthOf(
      { windows: { '5m': mk(errors5m), '1h': mk(errors1h), '30m': mk(errors30m), '6h': mk(errors6h) }, budgetLeft: 0.5, total: 4000 },
      30,
    );
  };
  it.each([
    ['quiet', [0, 0, 0, 0], 'WithinBudget'],
    ['a short spike: 5m burns, 1h does not', [50, 5, 5, 1], 'WithinBudget'],
    ['a burn that stopped: 1h burns, 5m no longer', [1, 20, 1, 3], 'WithinBudget'],
    ['fast: 1h and 5m above 14.4', [15, 14.5, 10, 3], 'FastBurn'],
    ['exactly at the threshold does not alert (as > in the rule)', [14.4, 14.4, 0, 0], 'WithinBudget'],
    ['slow: 6h and 30m above 6', [2, 3, 7, 6.5], 'SlowBurn'],
  ] as [string, [number, number, number, number], Health][])('%s', (_name, [a, b, c, d], expected) => {
    expect(at(a, b, c, d)).toBe(expected);
  });

  it('reports a spent budget once nothing burns fast or slow', () => {
    const burn = burnOf(spread(100, 20 * 86_400_000, 5), 99, 30, NOW);
    expect(pairRate(burn, 'fast')).toBeLessThan(14.4);
    expect(healthOf(burn, 30)).toBe('BudgetExhausted');
  });
});
