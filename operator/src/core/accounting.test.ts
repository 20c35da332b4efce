import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addAttempt, addTokens, costOf, periodOf, priceOf, spendIn, type Price, type Tokens } from './accounting.ts';

const PRICES: Price[] = [
  { model: 'big', inputPerMillion: 3, outputPerMillion: 15, cachedInputPerMillion: 0.3 },
  { model: 'small', inputPerMillion: 0.15, outputPerMillion: 0.6 },
];
const tokens = (inputTokens: number, outputTokens: number, cachedTokens = 0, model?: string): Tokens & { model?: string } => ({
  inputTokens,
  outputTokens,
  cachedTokens,
  ...(model ? { model } : {}),
});

describe('costOf', () => {
  it.each([
    ['a million input tokens of big', tokens(1_000_000, 0, 0, 'big'), 3],
    ['a million output tokens of big', tokens(0, 1_000_000, 0, 'big'), 15],
    ['cached input at its own price', tokens(1_000_000, 0, 1_000_000, 'big'), 0.3],
    ['half cached', tokens(1_000_000, 0, 500_000, 'big'), 1.65],
    ['cached input at the input price when unset', tokens(2_000, 1_000, 2_000, 'small'), 0.0009],
    ['more cached than input is capped at the input', tokens(10, 0, 50, 'big'), 0.000003],
    ['no tokens', tokens(0, 0, 0, 'big'), 0],
    ['an unknown model', tokens(100, 100, 0, 'other'), undefined],
    ['no model reported', tokens(100, 100), undefined],
  ])('%s', (_name, usage, cost) => {
    expect(costOf(usage, PRICES)).toBe(cost);
  });

  it('prices an unlisted model by the "*" entry, a listed one by its own', () => {
    const prices = [...PRICES, { model: '*', inputPerMillion: 1, outputPerMillion: 2 }];
    expect(priceOf('other', prices)?.model).toBe('*');
    expect(priceOf(undefined, prices)?.model).toBe('*');
    expect(costOf(tokens(1_000_000, 1_000_000, 0, 'other'), prices)).toBe(3);
    expect(costOf(tokens(1_000_000, 0, 0, 'small'), prices)).toBe(0.15);
  });

  it('is additive over attempts to within a millionth per attempt', () => {
    const attempt = fc.record({ inputTokens: fc.nat(10_000_000), outputTokens: fc.nat(1_000_000), cachedTokens: fc.nat(10_000_000) });
    fc.assert(
      fc.property(fc.array(attempt, { minLength: 1, maxLength: 20 }), (attempts) => {
        // Capping cached at input is per attempt; the property holds when no attempt over-reports.
        fc.pre(attempts.every((a) => a.cachedTokens <= a.inputTokens));
        const total = attempts.reduce((t, a) => addAttempt(t, { ...a, model: 'big' }, 0), addAttempt(undefined, undefined, 0));
        const parts = attempts.reduce((sum, a) => sum + (costOf({ ...a, model: 'big' }, PRICES) ?? NaN), 0);
        expect(Math.abs((costOf(total, PRICES) ?? NaN) - parts)).toBeLessThanOrEqual(attempts.length * 1e-6);
      }),
    );
  });
});

describe('addAttempt and addTokens', () => {
  it('adds the counts, keeps the last reported model and sums the time', () => {
    const first = addAttempt(undefined, { inputTokens: 100, outputTokens: 10, model: 'big' }, 1500.4);
    expect(first).toEqual({ inputTokens: 100, outputTokens: 10, cachedTokens: 0, model: 'big', durationMs: 1500 });
    const second = addAttempt(first, { outputTokens: 5, cachedTokens: 7 }, 500);
    expect(second).toEqual({ inputTokens: 100, outputTokens: 15, cachedTokens: 7, model: 'big', durationMs: 2000 });
    expect(addAttempt(second, undefined, 10)).toEqual({ ...second, durationMs: 2010 });
  });

  it('drops nothing: the total is the sum of what each attempt reported', () => {
    const report = fc.record({
      inputTokens: fc.option(fc.nat(1e9), { nil: undefined }),
      outputTokens: fc.option(fc.nat(1e9), { nil: undefined }),
      cachedTokens: fc.option(fc.nat(1e9), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(report, { maxLength: 30 }), (reports) => {
        const total = reports.reduce((t: Tokens, r) => addTokens(t, r), addTokens(undefined, undefined));
        expect(total.inputTokens).toBe(reports.reduce((s, r) => s + (r.inputTokens ?? 0), 0));
        expect(total.outputTokens).toBe(reports.reduce((s, r) => s + (r.outputTokens ?? 0), 0));
        expect(total.cachedTokens).toBe(reports.reduce((s, r) => s + (r.cachedTokens ?? 0), 0));
      }),
    );
  });
});

describe('periodOf', () => {
  const at = (iso: string): number => Date.parse(iso);
  it.each([
    ['Month', '2026-12-01T02:00:00Z', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['Month', '2024-02-29T23:59:59.999Z', '2024-02-01T00:00:00Z', '2024-03-01T00:00:00Z'],
    ['Day', '2026-12-31T23:59:59Z', '2026-12-31T00:00:00Z', '2027-01-01T00:00:00Z'],
    ['Week', '2026-12-01T10:00:00Z', '2026-11-30T00:00:00Z', '2026-12-07T00:00:00Z'], // a Tuesday
    ['Week', '2026-12-06T23:00:00Z', '2026-11-30T00:00:00Z', '2026-12-07T00:00:00Z'], // a Sunday
    ['Week', '2026-11-30T00:00:00Z', '2026-11-30T00:00:00Z', '2026-12-07T00:00:00Z'], // a Monday
  ] as const)('%s holding %s is [%s, %s)', (period, now, start, end) => {
    expect(periodOf(at(now), period)).toEqual({ start: at(start), end: at(end) });
  });

  it('always holds the instant, and the next period starts where it ends', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.constantFrom('Day', 'Week', 'Month'), (now, period) => {
        const p = periodOf(now, period);
        expect(p.start).toBeLessThanOrEqual(now);
        expect(p.end).toBeGreaterThan(now);
        expect(periodOf(p.end, period).start).toBe(p.end);
      }),
    );
  });
});

describe('spendIn', () => {
  const window = { start: 1000, end: 2000 };
  it('counts the tasks that ended in the window, by their cost or the price table', () => {
    const spent = [
      { at: 999, usage: { ...tokens(1_000_000, 0, 0, 'big'), durationMs: 0 } },
      { at: 1000, usage: { ...tokens(1_000_000, 0, 0, 'big'), durationMs: 0 } },
      { at: 1500, usage: { ...tokens(10, 20, 0, 'big'), durationMs: 0, cost: 0.5 } },
      { at: 1999, usage: { ...tokens(7, 3, 0, 'mystery'), durationMs: 0 } },
      { at: 2000, usage: { ...tokens(1_000_000, 0, 0, 'big'), durationMs: 0 } },
    ];
    expect(spendIn(spent, window, PRICES)).toEqual({ cost: 3.5, tokens: 1_000_040, unpriced: ['mystery'] });
  });
});
