// Error-budget burn rates over the multi-window pairs of the SRE workbook (alerting on
// SLOs, "multiwindow, multi-burn-rate alerts"): a burn rate is the error ratio over a
// window divided by the error budget (1 - objective). Fast burn: both 1h and 5m above
// the rate that spends 2% of the budget in an hour; slow burn: both 6h and 30m above the
// rate that spends 5% in six hours. The short window of each pair makes the alert stop
// soon after the burning does. The chart's PrometheusRule compares the operator's
// agent_orchestrator_slo_burn_rate gauges with the same thresholds, so its alerts and
// the SLOHealthy conditions agree.
import type { BadTime, SliEvent } from './indicator.ts';

export const WINDOWS = { '5m': 5 * 60_000, '30m': 30 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000 } as const;
export type Window = keyof typeof WINDOWS;
export const PAIRS = { fast: ['1h', '5m'], slow: ['6h', '30m'] } as const satisfies Record<string, readonly [Window, Window]>;

/** Burn rates at which each pair alerts, for an objective held over `windowDays`. */
export function burnThresholds(windowDays: number): { fast: number; slow: number } {
  const hours = windowDays * 24;
  return { fast: (0.02 * hours) / 1, slow: (0.05 * hours) / 6 };
}

export interface Burn {
  /** Per window: events and bad events (for a time-based SLO: the window's and the bad milliseconds), and the burn rate (0 with no events). */
  readonly windows: Record<Window, { total: number; bad: number; rate: number }>;
  /** Share of the error budget of the whole window left, from the events known (1 with none). */
  readonly budgetLeft: number;
  readonly total: number;
}

export function burnOf(events: readonly SliEvent[], objectivePercent: number, windowDays: number, now: number): Burn {
  const budget = 1 - objectivePercent / 100;
  const windows = {} as Record<Window, { total: number; bad: number; rate: number }>;
  for (const [name, ms] of Object.entries(WINDOWS) as [Window, number][]) {
    let total = 0;
    let bad = 0;
    for (const e of events) {
      if (e.at > now - ms && e.at <= now) {
        total++;
        if (!e.good) bad++;
      }
    }
    windows[name] = { total, bad, rate: total === 0 ? 0 : bad / total / budget };
  }
  const from = now - windowDays * 86_400_000;
  let total = 0;
  let bad = 0;
  for (const e of events) {
    if (e.at > from && e.at <= now) {
      total++;
      if (!e.good) bad++;
    }
  }
  return { windows, budgetLeft: total === 0 ? 1 : 1 - bad / (total * budget), total };
}

/** Total length of the union of `stretches` within (from, to]. */
function covered(stretches: readonly BadTime[], from: number, to: number): number {
  let total = 0;
  let reach = from;
  for (const b of stretches) {
    const start = Math.max(b.from, reach);
    const end = Math.min(b.to, to);
    if (end > start) {
      total += end - start;
      reach = end;
    }
  }
  return total;
}

/** A time-based SLO (QueueAge): the error ratio of a window is the share of it that was bad. */
export function burnOfTime(stretches: readonly BadTime[], objectivePercent: number, windowDays: number, now: number): Burn {
  const budget = 1 - objectivePercent / 100;
  const sorted = [...stretches].sort((a, b) => a.from - b.from);
  const windows = {} as Record<Window, { total: number; bad: number; rate: number }>;
  for (const [name, ms] of Object.entries(WINDOWS) as [Window, number][]) {
    const bad = covered(sorted, now - ms, now);
    windows[name] = { total: ms, bad, rate: bad / ms / budget };
  }
  const span = windowDays * 86_400_000;
  return { windows, budgetLeft: 1 - covered(sorted, now - span, now) / span / budget, total: sorted.length };
}

export type Health = 'WithinBudget' | 'FastBurn' | 'SlowBurn' | 'BudgetExhausted';

/** A pair burns when both its windows do: the smaller of the two rates is what is compared. */
export const pairRate = (burn: Burn, pair: keyof typeof PAIRS): number => Math.min(...PAIRS[pair].map((w) => burn.windows[w].rate));

export function healthOf(burn: Burn, windowDays: number): Health {
  const t = burnThresholds(windowDays);
  if (pairRate(burn, 'fast') > t.fast) return 'FastBurn';
  if (pairRate(burn, 'slow') > t.slow) return 'SlowBurn';
  if (burn.budgetLeft <= 0) return 'BudgetExhausted';
  return 'WithinBudget';
}
