// The anomaly detector as a pure function of an agent's last finished attempts
// (status.stats.recent, written by its runner). Per kind of task (the required
// capabilities) it keeps an exponentially weighted mean and variance of log(duration)
// and an exponentially weighted failure rate, walking the attempts oldest first. An
// attempt is anomalous when it is slow for this agent (more than `threshold` deviations
// above the mean and at least `minSlowdown` times the typical duration) or leaves the
// failure rate above `failureRateThreshold` (a success while the rate is that high is
// neither: it neither extends nor ends a streak). Anomalous attempts do not move the baseline
// (an EWMA control chart), so a slowdown cannot become the new normal while it is judged.
// Everything is derived again from the API server's copy of the attempts: an operator
// restart loses nothing and counts nothing twice.

export interface Attempt {
  readonly task: string;
  readonly attempt: number;
  readonly capabilities: string;
  readonly durationMs: number;
  readonly outcome: 'Succeeded' | 'Failed' | 'TimedOut';
  readonly completedAt: number;
}

export interface DetectorSettings {
  /** Weight of the newest attempt in the moving averages (0-1). */
  readonly alpha: number;
  /** Standard deviations of log(duration) above the mean that make an attempt slow. */
  readonly threshold: number;
  /** An attempt is slow only when it also took at least this many times the typical duration. */
  readonly minSlowdown: number;
  /** Attempts of a kind seen before any of its attempts is judged. */
  readonly minSamples: number;
  /** Failure rate (moving average, 0-1) above which an attempt counts as anomalous. */
  readonly failureRateThreshold: number;
}

/** One attempt as judged. */
export interface Judged {
  readonly attempt: Attempt;
  /** Deviations of log(duration) above the baseline mean; undefined while warming up or for a failure. */
  readonly score: number | undefined;
  /** The failure rate after this attempt. */
  readonly failureRate: number;
  readonly slow: boolean;
  /** The failure rate is above failureRateThreshold (after minSamples). */
  readonly elevated: boolean;
  /** A failure while the rate is elevated. */
  readonly failing: boolean;
  readonly anomalous: boolean;
}

/** What is known about one kind of task on one agent. */
export interface KindFigures {
  readonly capabilities: string;
  readonly attempts: readonly Judged[];
  /** Typical duration: exp of the baseline mean of log(duration), 0 before the first success. */
  readonly typicalMs: number;
  readonly failureRate: number;
}

interface Baseline {
  n: number;
  mean: number;
  variance: number;
}

/** An EWMA step; the first samples are averaged plainly so the start does not dominate. */
function update(b: Baseline, x: number, alpha: number): void {
  const weight = Math.max(alpha, 1 / (b.n + 1));
  const diff = x - b.mean;
  const step = weight * diff;
  b.mean += step;
  b.variance = (1 - weight) * (b.variance + diff * step);
  b.n++;
}

const logOf = (ms: number): number => Math.log(Math.max(1, ms));

/** Judges the attempts of each kind, oldest first. */
export function judge(attempts: readonly Attempt[], s: DetectorSettings): KindFigures[] {
  const kinds = new Map<string, { baseline: Baseline; failures: Baseline; judged: Judged[] }>();
  for (const a of attempts) {
    let k = kinds.get(a.capabilities);
    if (k === undefined)
      kinds.set(a.capabilities, (k = { baseline: { n: 0, mean: 0, variance: 0 }, failures: { n: 0, mean: 0, variance: 0 }, judged: [] }));
    const failed = a.outcome !== 'Succeeded';
    const warm = k.failures.n >= s.minSamples;
    update(k.failures, failed ? 1 : 0, s.alpha);
    const failureRate = k.failures.mean;
    let score: number | undefined;
    let slow = false;
    if (!failed) {
      const x = logOf(a.durationMs);
      if (k.baseline.n >= s.minSamples) {
        const deviation = Math.sqrt(k.baseline.variance);
        score = deviation > 0 ? (x - k.baseline.mean) / deviation : x > k.baseline.mean ? Number.POSITIVE_INFINITY : 0;
        slow = score > s.threshold && x - k.baseline.mean >= Math.log(s.minSlowdown);
      }
      if (!slow) update(k.baseline, x, s.alpha);
    }
    const elevated = warm && failureRate > s.failureRateThreshold;
    const failing = elevated && failed;
    k.judged.push({ attempt: a, score, failureRate, slow, elevated, failing, anomalous: slow || failing });
  }
  return [...kinds].map(([capabilities, k]) => ({
    capabilities,
    attempts: k.judged,
    typicalMs: k.baseline.n > 0 ? Math.exp(k.baseline.mean) : 0,
    failureRate: k.failures.mean,
  }));
}

/**
 * The anomalous attempts at the end of a kind's list that ended after `after`: the
 * streak. Successes while the failure rate is elevated are passed over.
 */
export function streakOf(kind: KindFigures, after: number): readonly Judged[] {
  const streak: Judged[] = [];
  for (let i = kind.attempts.length - 1; i >= 0; i--) {
    const j = kind.attempts[i];
    if (j === undefined || j.attempt.completedAt <= after) break;
    if (j.anomalous) streak.unshift(j);
    else if (!j.elevated) break;
  }
  return streak;
}
