// Summaries of measured samples. Pure: the benchmarks, the report and the unit tests
// share one definition of a percentile.

/** The p-th percentile (nearest rank: always a measured value, never an interpolation). */
export function percentile(samples: readonly number[], p: number): number {
  return percentileOfSorted(
    [...samples].sort((a, b) => a - b),
    p,
  );
}

function percentileOfSorted(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}

/**
 * Points of the empirical CDF, [value, fraction of samples at or below it], thinned to
 * at most `points` so a result file holds a curve, not every sample; the tail keeps its
 * resolution (the last point is the maximum).
 */
export function cdf(samples: readonly number[], points = 200): [number, number][] {
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return [];
  const step = Math.max(1, n / points);
  const out: [number, number][] = [];
  for (let i = step - 1; i < n - 1; i += step) {
    const k = Math.floor(i);
    out.push([sorted[k] ?? NaN, (k + 1) / n]);
  }
  out.push([sorted[n - 1] ?? NaN, 1]);
  return out;
}

/**
 * Events per second over time: [seconds since `start`, events in that bucket / bucket
 * length], one point per bucket from the first to the last event's.
 */
export function ratePerSecond(timesMs: readonly number[], startMs: number, bucketSeconds = 1): [number, number][] {
  if (timesMs.length === 0) return [];
  const counts = new Map<number, number>();
  let last = 0;
  for (const t of timesMs) {
    const bucket = Math.max(0, Math.floor((t - startMs) / 1000 / bucketSeconds));
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
    last = Math.max(last, bucket);
  }
  return Array.from({ length: last + 1 }, (_, b) => [b * bucketSeconds, (counts.get(b) ?? 0) / bucketSeconds]);
}

/** Events per second over the middle of a run (10th to 90th percentile of event times): ramp-up and tail excluded. */
export function sustainedRate(timesMs: readonly number[]): number {
  const sorted = [...timesMs].sort((a, b) => a - b);
  const lo = sorted[Math.floor(sorted.length * 0.1)];
  const hi = sorted[Math.floor(sorted.length * 0.9)];
  if (lo === undefined || hi === undefined || hi <= lo) return NaN;
  return (sorted.length * 0.8) / ((hi - lo) / 1000);
}
