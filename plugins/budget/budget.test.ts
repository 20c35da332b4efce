import { describe, expect, it } from 'vitest';
import type { AgentObject, Intent, NamespaceSnapshot, PolicyObject, TaskObject } from '../../operator/src/framework/index.ts';
import { agent, cycleState, routingOf, task } from '../../operator/src/framework/testing.ts';
import { AGENT_CONDITION, budget, budgetStates, conditionType, messageOf, REASON, type BudgetConfig, type BudgetState } from './index.ts';
import { accounting } from '../../operator/src/api/policy.ts';

const NOW = Date.parse('2026-12-15T12:00:00Z');
const config = (budgets: unknown[], prices: unknown[] = [{ model: 'm', inputPerMillion: 1, outputPerMillion: 4 }]): BudgetConfig =>
  accounting.parse({ currency: 'EUR', prices, budgets });

function spentTask(name: string, at: string, usage: Record<string, unknown>): TaskObject {
  return {
    metadata: { name, namespace: 'ns', uid: name },
    spec: { requiredCapabilities: [], priority: 100, timeoutSeconds: 60, cancel: false },
    status: {
      phase: 'Succeeded',
      usage: { inputTokens: 0, outputTokens: 0, cachedTokens: 0, durationMs: 0, ...usage },
      history: [{ agent: 'a', outcome: 'Succeeded', time: at }],
    },
  };
}

type Cond = { type: string; status: 'True' | 'False'; reason: string };

function agentObject(name: string, conditions: Cond[] = [], labels?: Record<string, string>, activeTasks = 0): AgentObject {
  return {
    metadata: { name, namespace: 'ns', uid: name, ...(labels ? { labels } : {}) },
    spec: {
      capabilities: [],
      runtime: { type: 'kubernetes', image: 'img' },
      maxConcurrentTasks: 1,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
    },
    status: { activeTasks, conditions: conditions.map((c) => ({ ...c, message: '', lastTransitionTime: '2026-12-01T00:00:00Z' })) },
  };
}

function policyObject(conditions: Cond[] = []): PolicyObject {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'p' },
    spec: {
      routing: { strategy: 'Balanced' },
      retries: { max: 3, backoffSeconds: 10 },
      circuitBreaker: { failureThreshold: 5, cooldownSeconds: 60 },
      autoscaling: { pools: [{ name: 'pool' } as never] },
    },
    status: { conditions: conditions.map((c) => ({ ...c, message: '', lastTransitionTime: '2026-12-01T00:00:00Z' })) },
  };
}

const tick = (raw: unknown, snapshot: Partial<NamespaceSnapshot>): Intent[] =>
  budget
    .create(raw)
    .lifecycle?.onTick?.({ now: NOW, namespace: 'ns', agents: [], tasks: [], policy: policyObject(), ...snapshot }) as Intent[];

describe('budgetStates', () => {
  // 1M input at 1 EUR and 0.25M output at 4 EUR: 2 EUR a task.
  const twoEuros = (name: string, at: string): TaskObject =>
    spentTask(name, at, { inputTokens: 1_000_000, outputTokens: 250_000, model: 'm' });

  it.each([
    ['under the cost limit', [{ name: 'b', maxCost: 5 }], 2, false, 0.8],
    ['at the cost limit', [{ name: 'b', maxCost: 4 }], 2, true, 1],
    ['over the token limit only', [{ name: 'b', maxCost: 100, maxTokens: 2_000_000 }], 2, true, 1.25],
    ['a zero limit holds everything', [{ name: 'b', maxTokens: 0 }], 0, true, Infinity],
  ])('%s', (_name, budgets, tasks, exhausted, used) => {
    const all = [twoEuros('t1', '2026-12-02T00:00:00Z'), twoEuros('t2', '2026-12-14T00:00:00Z')].slice(0, tasks);
    const [state] = budgetStates(config(budgets), all, NOW);
    expect(state?.exhausted).toBe(exhausted);
    expect(state?.used).toBe(used);
  });

  it('counts only the current period: a task of last month or of yesterday does not', () => {
    const tasks = [
      twoEuros('nov', '2026-11-30T23:59:59Z'),
      twoEuros('yesterday', '2026-12-14T10:00:00Z'),
      twoEuros('today', '2026-12-15T01:00:00Z'),
    ];
    const [month, day] = budgetStates(
      config([
        { name: 'month', period: 'Month', maxCost: 10 },
        { name: 'day', period: 'Day', maxCost: 10 },
      ]),
      tasks,
      NOW,
    );
    expect(month?.spend.cost).toBe(4);
    expect(day?.spend.cost).toBe(2);
  });

  it('says what it could not price', () => {
    const [state] = budgetStates(
      config([{ name: 'b', maxCost: 10 }]),
      [spentTask('x', '2026-12-10T00:00:00Z', { inputTokens: 10, model: 'unknown' })],
      NOW,
    );
    expect(state?.spend.unpriced).toEqual(['unknown']);
    expect(messageOf(state as BudgetState, 'EUR')).toBe(
      '0% of 10 EUR spent this month (2026-12-01 to 2026-12-31 UTC); no price for unknown: add it to spec.accounting.prices (counted as 0)',
    );
  });

  it('words a spent budget with what happens and until when', () => {
    const [wait] = budgetStates(config([{ name: 'b', maxCost: 2, maxTokens: 5_000_000 }]), [twoEuros('t', '2026-12-10T00:00:00Z')], NOW);
    expect(messageOf(wait as BudgetState, 'EUR')).toBe(
      '2 EUR and 5000000 tokens this month (2026-12-01 to 2026-12-31 UTC) spent (100%): new tasks wait until 2027-01-01T00:00:00Z or a higher limit in spec.accounting.budgets; running tasks finish',
    );
  });
});

describe('onTick', () => {
  const spent = [spentTask('t', '2026-12-10T00:00:00Z', { inputTokens: 3_000_000, model: 'm' })];

  it('holds every agent and the pools while a Wait budget is spent, with a policy condition and a Warning Event', () => {
    const agents = [
      agentObject('busy', [], { 'agents.orchestrator.dev/pool': 'pool' }, 1),
      agentObject('idle', [], { 'agents.orchestrator.dev/pool': 'pool' }),
    ];
    const intents = tick(
      { prices: [{ model: 'm', inputPerMillion: 1, outputPerMillion: 1 }], budgets: [{ name: 'monthly', maxCost: 3 }] },
      { agents, tasks: spent },
    );
    expect(
      intents
        .filter((i) => i.kind === 'condition' && i.target.kind === 'Agent')
        .map((i) => i.kind === 'condition' && `${i.target.name}:${i.condition.status}`),
    ).toEqual(['busy:True', 'idle:True']);
    expect(intents.find((i) => i.kind === 'pool')).toEqual({
      kind: 'pool',
      pool: 'pool',
      maxAwake: 1,
      reason: 'budget monthly spent: no agents for held tasks',
    });
    expect(intents.find((i) => i.kind === 'condition' && i.target.kind === 'OrchestratorPolicy')).toMatchObject({
      condition: { type: conditionType('monthly'), status: 'False', reason: 'Exhausted' },
    });
    expect(intents.flatMap((i) => (i.kind === 'event' ? [i.reason] : []))).toEqual(['BudgetExhausted']);
    expect(intents.find((i) => i.kind === 'requeue')).toEqual({ kind: 'requeue', afterMs: 3_600_000 });
  });

  it('with action Warn, only says so', () => {
    const intents = tick(
      { prices: [{ model: 'm', inputPerMillion: 1, outputPerMillion: 1 }], budgets: [{ name: 'monthly', maxCost: 3, action: 'Warn' }] },
      { agents: [agentObject('a')], tasks: spent },
    );
    expect(intents.some((i) => i.kind === 'pool' || (i.kind === 'condition' && i.target.kind === 'Agent'))).toBe(false);
    expect(intents.find((i) => i.kind === 'condition')).toMatchObject({ condition: { status: 'False', reason: 'Exhausted' } });
  });

  it('within budget: lifts a hold it set, leaves untouched agents alone, and says the budget renewed once', () => {
    const agents = [agentObject('held', [{ type: AGENT_CONDITION, status: 'True', reason: 'Exhausted' }]), agentObject('fresh')];
    const policy = policyObject([{ type: conditionType('monthly'), status: 'False', reason: 'Exhausted' }]);
    const intents = tick({ budgets: [{ name: 'monthly', maxCost: 100 }] }, { agents, tasks: spent, policy });
    expect(intents.filter((i) => i.kind === 'condition' && i.target.kind === 'Agent')).toEqual([
      {
        kind: 'condition',
        target: { kind: 'Agent', name: 'held' },
        condition: { type: AGENT_CONDITION, status: 'False', reason: 'WithinBudget', message: 'the namespace is within its budgets' },
      },
    ]);
    expect(intents.flatMap((i) => (i.kind === 'event' ? [i.reason] : []))).toEqual(['BudgetRenewed']);
    expect(intents.some((i) => i.kind === 'pool')).toBe(false);
  });

  it('writes nothing without budgets', () => {
    expect(tick({}, { agents: [agentObject('a')], tasks: spent })).toEqual([]);
  });
});

describe('filter', () => {
  it('rules out every agent while the hold is on, naming where to look', () => {
    const routing = routingOf(budget, { budgets: [{ name: 'b', maxCost: 1 }] });
    const held = agent('a', { conditions: { [AGENT_CONDITION]: { status: 'True', reason: 'Exhausted' } } });
    expect(routing.filter?.(task('t'), held, cycleState())).toEqual({ code: 'UnschedulableAndUnresolvable', reason: REASON });
    expect(
      routing.filter?.(
        task('t'),
        agent('b', { conditions: { [AGENT_CONDITION]: { status: 'False', reason: 'WithinBudget' } } }),
        cycleState(),
      ),
    ).toMatchObject({ code: 'Success' });
  });
});
