// What tokens cost and what a namespace spent: pure functions of the Tasks' status.usage
// and the policy's spec.accounting, so a restarted operator computes the same figures.

export interface Tokens {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedTokens: number;
}

/** One attempt's report: every field optional, as agents report what they know. */
export interface AttemptUsage {
  readonly inputTokens?: number | undefined;
  readonly outputTokens?: number | undefined;
  readonly cachedTokens?: number | undefined;
  readonly model?: string | undefined;
}

export interface TaskUsage extends Tokens {
  readonly model?: string | undefined;
  readonly durationMs: number;
  readonly cost?: number | undefined;
  readonly currency?: string | undefined;
}

export interface Price {
  readonly model: string;
  readonly inputPerMillion: number;
  readonly outputPerMillion: number;
  readonly cachedInputPerMillion?: number | undefined;
}

export type Period = 'Day' | 'Week' | 'Month';

const ZERO: Tokens = { inputTokens: 0, outputTokens: 0, cachedTokens: 0 };

/** Adds one attempt to what the task's earlier attempts used. */
export function addAttempt(total: Partial<TaskUsage> | undefined, attempt: AttemptUsage | undefined, durationMs: number): TaskUsage {
  const base = { ...ZERO, durationMs: 0, ...total };
  const model = attempt?.model ?? base.model;
  return {
    inputTokens: base.inputTokens + (attempt?.inputTokens ?? 0),
    outputTokens: base.outputTokens + (attempt?.outputTokens ?? 0),
    cachedTokens: base.cachedTokens + (attempt?.cachedTokens ?? 0),
    ...(model !== undefined ? { model } : {}),
    durationMs: base.durationMs + Math.max(0, Math.round(durationMs)),
  };
}

/** Adds tokens to a running total (an agent's stats.usage). */
export function addTokens(total: Partial<Tokens> | undefined, more: AttemptUsage | undefined): Tokens {
  const base = { ...ZERO, ...total };
  return {
    inputTokens: base.inputTokens + (more?.inputTokens ?? 0),
    outputTokens: base.outputTokens + (more?.outputTokens ?? 0),
    cachedTokens: base.cachedTokens + (more?.cachedTokens ?? 0),
  };
}

/** The price of a model: its own entry, else the "*" entry, else none. */
export function priceOf(model: string | undefined, prices: readonly Price[]): Price | undefined {
  return (model !== undefined ? prices.find((p) => p.model === model) : undefined) ?? prices.find((p) => p.model === '*');
}

/**
 * What the tokens cost: cached input at its own price (input's when unset), the rest of
 * the input and the output at theirs. Undefined when no price applies. Rounded to a
 * millionth, so sums of many tasks do not drift in the last digits.
 */
export function costOf(usage: Tokens & { readonly model?: string | undefined }, prices: readonly Price[]): number | undefined {
  const price = priceOf(usage.model, prices);
  if (!price) return undefined;
  const cached = Math.min(usage.cachedTokens, usage.inputTokens);
  const micros =
    (usage.inputTokens - cached) * price.inputPerMillion +
    cached * (price.cachedInputPerMillion ?? price.inputPerMillion) +
    usage.outputTokens * price.outputPerMillion;
  return Math.round(micros) / 1e6;
}

/** The calendar period (UTC) holding `now`: [start, end) in ms. Weeks start on Monday. */
export function periodOf(now: number, period: Period): { start: number; end: number } {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  if (period === 'Month') return { start: Date.UTC(y, m, 1), end: Date.UTC(y, m + 1, 1) };
  if (period === 'Day') return { start: Date.UTC(y, m, day), end: Date.UTC(y, m, day + 1) };
  const sinceMonday = (d.getUTCDay() + 6) % 7;
  return { start: Date.UTC(y, m, day - sinceMonday), end: Date.UTC(y, m, day - sinceMonday + 7) };
}

/** A task's usage and when its last attempt ended: the instant its spend counts at. */
export interface Spent {
  readonly usage: TaskUsage;
  readonly at: number;
}

export interface Spend {
  readonly cost: number;
  readonly tokens: number;
  /** Models with tokens in the period and no price: their cost is unknown (counted as 0). */
  readonly unpriced: readonly string[];
}

/** What the tasks whose last attempt ended in [start, end) cost and used. */
export function spendIn(spent: Iterable<Spent>, window: { start: number; end: number }, prices: readonly Price[]): Spend {
  let micros = 0;
  let tokens = 0;
  const unpriced = new Set<string>();
  for (const { usage, at } of spent) {
    if (at < window.start || at >= window.end) continue;
    const used = usage.inputTokens + usage.outputTokens;
    tokens += used;
    const cost = usage.cost ?? costOf(usage, prices);
    if (cost === undefined) {
      if (used > 0) unpriced.add(usage.model ?? '(no model reported)');
    } else micros += Math.round(cost * 1e6);
  }
  return { cost: micros / 1e6, tokens, unpriced: [...unpriced].sort() };
}
