import { describe, expect, it } from 'vitest';
import { POOL_LABEL } from '../../operator/src/api/names.ts';
import type { AgentObject, Intent, NamespaceSnapshot, PolicyObject } from '../../operator/src/framework/index.ts';
import { agent, cycleState, NOW, routingOf, task, type AgentFields } from '../../operator/src/framework/testing.ts';
import { anomaly, quarantineOf } from './index.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

describe('filter', () => {
  const routing = routingOf(anomaly);
  function verdict(fields: AgentFields, reservedBefore = 0): string {
    const state = cycleState();
    const target = agent('a', fields);
    for (let i = 0; i < reservedBefore; i++) state.reserve(task(`earlier-${i}`), target);
    const s = routing.filter?.(task('t'), target, state);
    if (s === undefined) throw new Error('no filter');
    return s.code === 'Success' ? 'ok' : `${s.code}: ${s.reason ?? ''}`;
  }
  const degraded = (status: 'True' | 'False', reason: string): AgentFields => ({
    conditions: { Degraded: { status, reason } },
    maxConcurrentTasks: 4,
  });

  it.each([
    ['no condition', {}, 0, 'ok'],
    ['released', degraded('False', 'AnomalyReleased'), 0, 'ok'],
    ['quarantined', degraded('True', 'Anomalous'), 0, 'UnschedulableAndUnresolvable: quarantined as anomalous'],
    ['held back by the fleet guard', degraded('True', 'AnomalousNotQuarantined'), 0, 'ok'],
    ['probing, no probe yet', degraded('True', 'AnomalyProbe'), 0, 'ok'],
    ['probing, probe given earlier in this cycle', degraded('True', 'AnomalyProbe'), 1, 'Unschedulable: anomaly probe running'],
    ['probing, probe running', { ...degraded('True', 'AnomalyProbe'), active: 1 }, 0, 'Unschedulable: anomaly probe running'],
  ] as [string, AgentFields, number, string][])('%s', (_case, fields, reserved, expected) => {
    expect(verdict(fields, reserved)).toBe(expected);
  });

  it('reads the state the lifecycle part wrote', () => {
    expect(quarantineOf(degraded('True', 'Anomalous').conditions ?? {})).toBe('quarantined');
    expect(quarantineOf({})).toBe('none');
  });
});

/** An agent whose runner recorded `normal` attempts of ~1 s, then `slow` of 3 s, one second apart, the last at NOW - 1 s. */
function agentWith(
  name: string,
  normal: number,
  slow: number,
  extra: { pool?: string; conditions?: NonNullable<AgentObject['status']>['conditions'] } = {},
): AgentObject {
  const total = normal + slow;
  const recent = Array.from({ length: total }, (_, i) => ({
    task: `${name}-t${i}`,
    attempt: 1,
    capabilities: 'review',
    durationMs: i < normal ? 1000 + (i % 3) * 20 : 3000,
    outcome: 'Succeeded' as const,
    completedAt: iso(NOW - (total - i) * 1000),
  }));
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...(extra.pool ? { labels: { [POOL_LABEL]: extra.pool } } : {}) },
    spec: {
      capabilities: ['review'],
      runtime: { type: 'kubernetes', image: 'img' },
      maxConcurrentTasks: 1,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
    },
    status: {
      stats: { succeeded: total, failed: 0, consecutiveFailures: 0, recent },
      ...(extra.conditions ? { conditions: extra.conditions } : {}),
    },
  };
}

const policy = (conditions?: NonNullable<PolicyObject['status']>['conditions']): PolicyObject =>
  ({
    metadata: { name: 'default', namespace: 'ns', uid: 'p' },
    spec: {},
    ...(conditions ? { status: { conditions } } : {}),
  }) as unknown as PolicyObject;

function tick(agents: AgentObject[], config: Record<string, unknown> = {}, p: PolicyObject | undefined = policy()): Intent[] {
  const lifecycle = anomaly.create(config).lifecycle;
  const snapshot: NamespaceSnapshot = { now: NOW, namespace: 'ns', policy: p, agents, tasks: [] };
  return [...(lifecycle?.onTick?.(snapshot) ?? [])];
}

const conditionsOf = (intents: Intent[]): Record<string, string> =>
  Object.fromEntries(
    intents.flatMap((i) =>
      i.kind === 'condition' ? [[`${i.target.kind}/${i.target.name}`, `${i.condition.status}/${i.condition.reason}`]] : [],
    ),
  );
const eventsOf = (intents: Intent[]): string[] =>
  intents.flatMap((i) => (i.kind === 'event' ? [`${i.target.name} ${i.type} ${i.reason}`] : []));

describe('onTick', () => {
  it('writes nothing but gauges for agents that never were anomalous', () => {
    const intents = tick([agentWith('a', 20, 0), agentWith('b', 3, 0)]);
    expect(intents.map((i) => i.kind)).toEqual(['metric', 'metric', 'metric', 'metric', 'metric', 'metric']);
    expect(intents.find((i) => i.kind === 'metric' && i.name === 'anomaly_quarantined')).toMatchObject({
      labels: { agent: 'a' },
      value: 0,
    });
  });

  it('quarantines a slow agent: condition dated at its last slow task, a Warning Event, a look at the cooldown’s end, gauges', () => {
    const intents = tick([agentWith('a', 20, 5), agentWith('b', 25, 0)]);
    expect(conditionsOf(intents)).toEqual({ 'Agent/a': 'True/Anomalous' });
    expect(intents.find((i) => i.kind === 'condition')).toMatchObject({ since: NOW - 1000 });
    expect(eventsOf(intents)).toEqual(['a Warning Anomalous']);
    expect(intents).toContainEqual({ kind: 'requeue', afterMs: 299_000 });
    expect(intents).toContainEqual(
      expect.objectContaining({ kind: 'metric', name: 'anomaly_quarantined', labels: { agent: 'a' }, value: 1 }),
    );
    const score = intents.find((i) => i.kind === 'metric' && i.name === 'anomaly_score' && i.labels?.agent === 'a');
    expect(score?.kind === 'metric' && score.value).toBeGreaterThan(3.5);
  });

  it('asks nothing new once the quarantine is written (a restarted operator decides the same)', () => {
    const first = tick([agentWith('a', 20, 5), agentWith('b', 25, 0)]);
    const written = first.find((i) => i.kind === 'condition');
    if (written?.kind !== 'condition') throw new Error('no condition');
    const condition = { ...written.condition, lastTransitionTime: iso(written.since ?? 0) };
    const again = tick([agentWith('a', 20, 5, { conditions: [condition] }), agentWith('b', 25, 0)]);
    expect(again.find((i) => i.kind === 'condition')).toEqual(written);
    expect(eventsOf(again)).toEqual([]);
  });

  it('fleet guard: quarantines at most maxQuarantinedPercent of a pool, the most anomalous first, and says so on the policy', () => {
    const pool = [
      agentWith('a', 20, 5, { pool: 'p' }),
      agentWith('b', 20, 6, { pool: 'p' }),
      agentWith('c', 20, 5, { pool: 'p' }),
      agentWith('d', 25, 0, { pool: 'p' }),
    ];
    const other = [agentWith('x', 20, 5), agentWith('y', 25, 0)];
    const intents = tick([...pool, ...other]);
    expect(conditionsOf(intents)).toEqual({
      'Agent/a': 'True/Anomalous',
      'Agent/b': 'True/Anomalous',
      'Agent/c': 'True/AnomalousNotQuarantined',
      'Agent/x': 'True/Anomalous',
      'OrchestratorPolicy/default': 'True/TooManyAnomalous',
    });
    const guard = intents.find((i) => i.kind === 'condition' && i.target.kind === 'OrchestratorPolicy');
    expect(guard?.kind === 'condition' && guard.condition.message).toBe(
      '3 of 4 agents of pool p are anomalous; at most 2 may be quarantined at once (maxQuarantinedPercent 50): not quarantined c. Many agents turning anomalous together points at a bad release or a change in the work rather than at the agents',
    );
    expect(eventsOf(intents)).toContain('default Warning TooManyAnomalous');
    expect(eventsOf(intents)).toContain('c Warning AnomalousNotQuarantined');
  });

  it('fleet guard at 0%: nothing is quarantined, every anomalous agent is reported', () => {
    expect(conditionsOf(tick([agentWith('a', 20, 5), agentWith('b', 25, 0)], { maxQuarantinedPercent: 0 }))).toEqual({
      'Agent/a': 'True/AnomalousNotQuarantined',
      'OrchestratorPolicy/default': 'True/TooManyAnomalous',
    });
  });

  it('clears the policy condition it wrote once no pool is over its limit', () => {
    const previous = [
      { type: 'AnomalyGuard', status: 'True' as const, reason: 'TooManyAnomalous', message: 'm', lastTransitionTime: iso(NOW - 5000) },
    ];
    const intents = tick([agentWith('a', 25, 0)], {}, policy(previous));
    expect(conditionsOf(intents)).toEqual({ 'OrchestratorPolicy/default': 'False/WithinLimit' });
    expect(eventsOf(intents)).toEqual(['default Normal WithinLimit']);
  });

  it('rejects settings that leave no attempts to judge, naming the field', () => {
    expect(() => anomaly.create({ minSamples: 30, consecutiveTasks: 5 })).toThrow(
      /consecutiveTasks[\s\S]*minSamples \+ consecutiveTasks must be at most 32/,
    );
  });
});
