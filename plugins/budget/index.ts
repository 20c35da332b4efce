import { accounting } from '../../operator/src/api/policy.ts';
import { POOL_LABEL } from '../../operator/src/api/names.ts';
import { definePlugin, success, unresolvable, type Intent, type NamespaceSnapshot } from '../../operator/src/framework/index.ts';
import { budgetStates, messageOf, type BudgetConfig, type BudgetState } from './spend.ts';

export { budgetStates, messageOf, spentOf, type BudgetConfig, type BudgetState } from './spend.ts';

/** On the policy, one per budget. */
export const conditionType = (budget: string): string => `BudgetAvailable-${budget}`;
/** On every agent of the namespace while a Wait budget is spent: routing reads agents' conditions. */
export const AGENT_CONDITION = 'BudgetExhausted';
export const REASON = "the namespace's budget is spent (the policy's BudgetAvailable conditions say which and until when)";

// The longest a tick waits for a period to end, so a budget renews close to the instant.
const MAX_REQUEUE_MS = 3_600_000;

function policyIntents(snapshot: NamespaceSnapshot, states: readonly BudgetState[], currency: string): Intent[] {
  const policy = snapshot.policy;
  if (!policy) return [];
  const target = { kind: 'OrchestratorPolicy', name: policy.metadata.name } as const;
  return states.flatMap((s): Intent[] => {
    const type = conditionType(s.budget.name);
    const condition = s.exhausted
      ? ({ type, status: 'False', reason: 'Exhausted', message: messageOf(s, currency) } as const)
      : ({ type, status: 'True', reason: 'WithinBudget', message: messageOf(s, currency) } as const);
    const previous = policy.status?.conditions?.find((c) => c.type === type);
    const labels = { budget: s.budget.name };
    const intents: Intent[] = [
      { kind: 'condition', target, condition },
      {
        kind: 'metric',
        name: 'budget_spent_cost',
        help: "What the namespace spent in the budget's current period, in the policy currency",
        labels,
        value: s.spend.cost,
      },
      {
        kind: 'metric',
        name: 'budget_spent_tokens',
        help: "Tokens (input plus output) the namespace used in the budget's current period",
        labels,
        value: s.spend.tokens,
      },
      {
        kind: 'metric',
        name: 'budget_used_ratio',
        help: 'Share of the budget spent in its current period (1: all of it), the larger of cost and tokens',
        labels,
        value: Number.isFinite(s.used) ? s.used : 1,
      },
      { kind: 'metric', name: 'budget_exhausted', help: '1 while the budget is spent for its period', labels, value: s.exhausted ? 1 : 0 },
    ];
    if (s.budget.maxCost !== undefined)
      intents.push({ kind: 'metric', name: 'budget_limit_cost', help: "The budget's maxCost", labels, value: s.budget.maxCost });
    // A budget never judged before was within it.
    if ((previous?.reason ?? 'WithinBudget') !== condition.reason) {
      intents.push({
        kind: 'event',
        target,
        type: s.exhausted ? 'Warning' : 'Normal',
        reason: s.exhausted ? 'BudgetExhausted' : 'BudgetRenewed',
        message: `budget ${s.budget.name}: ${condition.message}`,
      });
    }
    return intents;
  });
}

/**
 * While a Wait budget is spent: every agent says so (the Filter reads it), and pools keep
 * no more awake agents than those still running tasks, so held tasks do not scale the
 * fleet up. An agent that never carried the condition is left alone within budget: writing
 * it would cost every agent a status write.
 */
function holdIntents(snapshot: NamespaceSnapshot, states: readonly BudgetState[]): Intent[] {
  const spent = states.filter((s) => s.exhausted && s.budget.action === 'Wait').map((s) => s.budget.name);
  const intents: Intent[] = [];
  for (const agent of snapshot.agents) {
    if (agent.metadata.deletionTimestamp !== undefined) continue;
    const previous = agent.status?.conditions?.find((c) => c.type === AGENT_CONDITION);
    const target = { kind: 'Agent', name: agent.metadata.name } as const;
    if (spent.length > 0) {
      intents.push({
        kind: 'condition',
        target,
        condition: {
          type: AGENT_CONDITION,
          status: 'True',
          reason: 'Exhausted',
          message: `no new tasks: budget ${spent.join(', ')} of the namespace is spent`,
        },
      });
    } else if (previous?.status === 'True') {
      intents.push({
        kind: 'condition',
        target,
        condition: { type: AGENT_CONDITION, status: 'False', reason: 'WithinBudget', message: 'the namespace is within its budgets' },
      });
    }
  }
  if (spent.length > 0) {
    for (const pool of snapshot.policy?.spec.autoscaling?.pools ?? []) {
      const busy = snapshot.agents.filter((a) => a.metadata.labels?.[POOL_LABEL] === pool.name && (a.status?.activeTasks ?? 0) > 0).length;
      intents.push({ kind: 'pool', pool: pool.name, maxAwake: busy, reason: `budget ${spent.join(', ')} spent: no agents for held tasks` });
    }
  }
  return intents;
}

/**
 * Budgets: what the namespace's tasks spent per calendar period (from their
 * status.usage, priced by spec.accounting.prices) against spec.accounting.budgets. A
 * spent Wait budget holds new tasks (Scheduled=False naming this plugin) until the period
 * ends or the limit is raised; every figure is computed from the Tasks the API server
 * holds, so an operator restart changes nothing.
 */
export const budget = definePlugin({
  name: 'budget',
  config: accounting,
  settingsFrom: (spec) => spec.accounting as Readonly<Record<string, unknown>> | undefined,
  routing: () => ({
    filter(_task, agent) {
      return agent.conditions[AGENT_CONDITION]?.status === 'True' ? unresolvable(REASON) : success;
    },
  }),
  lifecycle: (config: BudgetConfig) => ({
    onTick(snapshot: NamespaceSnapshot): Intent[] {
      const states = budgetStates(config, snapshot.tasks, snapshot.now);
      const intents = [...policyIntents(snapshot, states, config.currency), ...holdIntents(snapshot, states)];
      const ends = states.map((s) => s.period.end - snapshot.now);
      if (ends.length) intents.push({ kind: 'requeue', afterMs: Math.min(MAX_REQUEUE_MS, ...ends) });
      return intents;
    },
  }),
});
