import type { accounting } from '../../operator/src/api/policy.ts';
import { periodOf, spendIn, type Spend, type Spent, type TaskObject } from '../../operator/src/framework/index.ts';
import type { z } from 'zod';

export type BudgetConfig = z.output<typeof accounting>;
export type Budget = BudgetConfig['budgets'][number];

/** A budget against what the namespace spent in its current period. */
export interface BudgetState {
  readonly budget: Budget;
  readonly spend: Spend;
  readonly period: { readonly start: number; readonly end: number };
  /** Share of the limit spent, the larger of cost and tokens: 1 is the whole budget. */
  readonly used: number;
  readonly exhausted: boolean;
}

/**
 * A task's spend counts at the end of its last attempt (a task whose attempts straddle
 * two periods counts in the later). Tasks that ran nothing yet spent nothing.
 */
export function spentOf(task: TaskObject): Spent | undefined {
  const usage = task.status?.usage;
  const at = task.status?.history?.at(-1)?.time ?? task.status?.completedAt;
  if (!usage || at === undefined) return undefined;
  return { usage, at: Date.parse(at) };
}

export function budgetStates(config: BudgetConfig, tasks: readonly TaskObject[], now: number): BudgetState[] {
  if (config.budgets.length === 0) return [];
  const spent = tasks.map(spentOf).filter((s): s is Spent => s !== undefined);
  return config.budgets.map((budget) => {
    const period = periodOf(now, budget.period);
    const spend = spendIn(spent, period, config.prices);
    const ratios = [
      budget.maxCost === undefined ? 0 : budget.maxCost === 0 ? Infinity : spend.cost / budget.maxCost,
      budget.maxTokens === undefined ? 0 : budget.maxTokens === 0 ? Infinity : spend.tokens / budget.maxTokens,
    ];
    const used = Math.max(...ratios);
    return { budget, spend, period, used, exhausted: used >= 1 };
  });
}

const PERIOD_WORDS = { Day: 'today', Week: 'this week', Month: 'this month' } as const;
const fmt = (n: number): string => String(Number(n.toFixed(2)));
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The condition's message: the limit, the share spent to the whole percent and when the
 * period ends. Exact figures are metrics: a message that moved with every task would cost
 * a policy status write per task.
 */
export function messageOf(s: BudgetState, currency: string): string {
  const limits = [
    ...(s.budget.maxCost !== undefined ? [`${fmt(s.budget.maxCost)} ${currency}`] : []),
    ...(s.budget.maxTokens !== undefined ? [`${s.budget.maxTokens} tokens`] : []),
  ].join(' and ');
  const share = s.used === Infinity ? 'all' : `${Math.floor(Math.min(s.used, 10) * 100)}%`;
  const window = `${PERIOD_WORDS[s.budget.period]} (${day(s.period.start)} to ${day(s.period.end - 1)} UTC)`;
  const unpriced = s.spend.unpriced.length
    ? `; no price for ${s.spend.unpriced.join(', ')}: add it to spec.accounting.prices (counted as 0)`
    : '';
  if (!s.exhausted) return `${share} of ${limits} spent ${window}${unpriced}`;
  const then =
    s.budget.action === 'Wait'
      ? `new tasks wait until ${new Date(s.period.end).toISOString().replace('.000', '')} or a higher limit in spec.accounting.budgets; running tasks finish`
      : 'action Warn: tasks still run';
  return `${limits} ${window} spent (${share}): ${then}${unpriced}`;
}
