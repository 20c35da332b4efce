import { describe, expect, it } from 'vitest';
import { settledOver, type ProcessSample } from './rss.ts';

const MB = 2 ** 20;
/** One sample every `everyMs`, RSS and CPU from functions of the time in seconds. */
const series = (count: number, everyMs: number, rssMb: (s: number) => number, cpu: (s: number) => number): ProcessSample[] =>
  Array.from({ length: count }, (_, i) => ({ at: i * everyMs, rss: rssMb((i * everyMs) / 1000) * MB, cpu: cpu((i * everyMs) / 1000) }));

describe('settledOver', () => {
  it('has no verdict before the samples span a whole window', () => {
    expect(settledOver([], 5000)).toBeUndefined();
    expect(
      settledOver(
        series(
          10,
          500,
          () => 100,
          () => 0,
        ),
        5000,
      ),
    ).toBeUndefined();
  });

  it('settles on a flat RSS even when the samples come a little late (the window is at least windowMs)', () => {
    const late = series(
      12,
      502,
      () => 100,
      (s) => s * 0.004,
    );
    const verdict = settledOver(late, 5000);
    expect(verdict?.settled).toBe(true);
    expect(verdict?.rssBytes).toBe(100 * MB);
    expect(verdict?.cpuPercent).toBeCloseTo(0.4, 5);
    expect(verdict?.growthMbPerMinute).toBeCloseTo(0, 5);
  });

  it('does not settle while RSS climbs, and says how fast', () => {
    // 0.5 MB a second on 100 MB: 2.5% over 5 s.
    const verdict = settledOver(
      series(
        21,
        500,
        (s) => 100 + 0.5 * s,
        (s) => s * 0.16,
      ),
      5000,
    );
    expect(verdict?.settled).toBe(false);
    expect(verdict?.growthMbPerMinute).toBeCloseTo(30, 5);
    expect(verdict?.cpuPercent).toBeCloseTo(16, 5);
  });

  it('judges only the last window: an early climb does not count', () => {
    const verdict = settledOver(
      series(
        41,
        500,
        (s) => (s < 10 ? 50 + 5 * s : 100),
        () => 0,
      ),
      5000,
    );
    expect(verdict?.settled).toBe(true);
  });
});
