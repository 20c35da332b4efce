import { describe, expect, it } from 'vitest';
import type { AgentObject, Intent } from '../../operator/src/framework/index.ts';
import { agent, cycleState, NOW, routingOf, task, type AgentFields } from '../../operator/src/framework/testing.ts';
import { circuitBreaker, circuitIntents, circuitOf } from './index.ts';

const OPEN = { CircuitOpen: { status: 'True', reason: 'TooManyFailures' } };
const HALF_OPEN = { CircuitOpen: { status: 'True', reason: 'HalfOpen' } };
const CLOSED = { CircuitOpen: { status: 'False', reason: 'CircuitClosed' } };
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

describe('filter', () => {
  const routing = routingOf(circuitBreaker);
  function verdict(fields: AgentFields, reservedBefore = 0): string {
    const state = cycleState();
    const target = agent('a', fields);
    for (let i = 0; i < reservedBefore; i++) state.reserve(task(`earlier-${i}`), target);
    const s = routing.filter?.(task('t'), target, state);
    if (s === undefined) throw new Error('no filter');
    return s.code === 'Success' ? 'ok' : `${s.code}: ${s.reason ?? ''}`;
  }

  it.each([
    ['no condition', {}, 0, 'ok'],
    ['closed', { conditions: CLOSED, active: 3, maxConcurrentTasks: 5 }, 0, 'ok'],
    ['open', { conditions: OPEN }, 0, 'UnschedulableAndUnresolvable: circuit open'],
    ['half-open, no trial yet', { conditions: HALF_OPEN, maxConcurrentTasks: 5 }, 0, 'ok'],
    [
      'half-open, trial running',
      { conditions: HALF_OPEN, active: 1, maxConcurrentTasks: 5 },
      0,
      'Unschedulable: circuit half-open, trial running',
    ],
    [
      'half-open, trial given earlier in this cycle',
      { conditions: HALF_OPEN, maxConcurrentTasks: 5 },
      1,
      'Unschedulable: circuit half-open, trial running',
    ],
  ] as [string, AgentFields, number, string][])('%s', (_case, fields, reserved, expected) => {
    expect(verdict(fields, reserved)).toBe(expected);
  });

  it('reads the state the lifecycle part wrote', () => {
    expect([circuitOf({}), circuitOf(CLOSED), circuitOf(OPEN), circuitOf(HALF_OPEN)]).toEqual(['closed', 'closed', 'open', 'half-open']);
  });
});

function agentObject(status: AgentObject['status'], name = 'a'): AgentObject {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}` },
    spec: {
      capabilities: [],
      runtime: { type: 'kubernetes', image: 'img' },
      maxConcurrentTasks: 1,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
    },
    status,
  };
}

const kinds = (intents: Intent[]): string[] => intents.map((i) => i.kind);

describe('onTick', () => {
  const config = { failureThreshold: 3, cooldownSeconds: 60 };

  it('opens at the threshold: condition dated at the failure, a Warning Event, a look at the half-open instant, the gauge at 2', () => {
    const failedAt = NOW - 1_000;
    const intents = circuitIntents(
      agentObject({ stats: { succeeded: 0, failed: 3, consecutiveFailures: 3, lastFailureTime: iso(failedAt) } }),
      config,
      NOW,
    );
    expect(kinds(intents)).toEqual(['condition', 'event', 'requeue', 'metric']);
    expect(intents[0]).toMatchObject({
      target: { kind: 'Agent', name: 'a' },
      condition: { type: 'CircuitOpen', status: 'True', reason: 'TooManyFailures' },
      since: failedAt,
    });
    expect(intents[1]).toMatchObject({ type: 'Warning', reason: 'TooManyFailures' });
    expect(intents[2]).toEqual({ kind: 'requeue', afterMs: 59_000 });
    expect(intents[3]).toMatchObject({ name: 'agent_circuit_state', labels: { agent: 'a' }, value: 2 });
  });

  it('asks for no Event when the reason is unchanged, so a tick on a stale cache repeats nothing visible', () => {
    const condition = {
      type: 'CircuitOpen',
      status: 'True' as const,
      reason: 'TooManyFailures',
      message: 'm',
      lastTransitionTime: iso(NOW - 1_000),
    };
    const intents = circuitIntents(
      agentObject({ conditions: [condition], stats: { succeeded: 0, failed: 3, consecutiveFailures: 3 } }),
      config,
      NOW,
    );
    expect(kinds(intents)).toEqual(['condition', 'requeue', 'metric']);
  });

  it('goes half-open after the cooldown with a Normal Event and the gauge at 1', () => {
    const condition = {
      type: 'CircuitOpen',
      status: 'True' as const,
      reason: 'TooManyFailures',
      message: 'm',
      lastTransitionTime: iso(NOW - 61_000),
    };
    const intents = circuitIntents(
      agentObject({ conditions: [condition], stats: { succeeded: 0, failed: 3, consecutiveFailures: 3 } }),
      config,
      NOW,
    );
    expect(intents[0]).toMatchObject({ condition: { reason: 'HalfOpen' } });
    expect(intents[1]).toMatchObject({ kind: 'event', type: 'Normal', reason: 'HalfOpen' });
    expect(intents.at(-1)).toMatchObject({ value: 1 });
  });

  it('skips agents being deleted', () => {
    const plugin = circuitBreaker.create({}).lifecycle;
    const leaving = { ...agentObject({}, 'gone'), metadata: { name: 'gone', namespace: 'ns', uid: 'u', deletionTimestamp: iso(NOW) } };
    const intents = plugin?.onTick?.({ now: NOW, namespace: 'ns', agents: [agentObject({}), leaving], tasks: [] }) ?? [];
    expect(intents.flatMap((i) => (i.kind === 'metric' ? [i.labels?.agent] : []))).toEqual(['a']);
  });

  it('writes nothing on an agent that never failed (no condition reads as closed), but sets its gauge', () => {
    const stats = { succeeded: 4, failed: 0, consecutiveFailures: 0 };
    expect(kinds(circuitIntents(agentObject({ stats }), config, NOW))).toEqual(['metric']);
    expect(kinds(circuitIntents(agentObject(undefined), config, NOW))).toEqual(['metric']);
    // Its first failure is worth saying, and a condition once written is kept up to date.
    expect(kinds(circuitIntents(agentObject({ stats: { ...stats, failed: 1, consecutiveFailures: 1 } }), config, NOW))).toEqual([
      'condition',
      'event',
      'metric',
    ]);
    const closed = {
      type: 'CircuitOpen',
      status: 'False' as const,
      reason: 'CircuitClosed',
      message: 'm',
      lastTransitionTime: iso(NOW - 1_000),
    };
    expect(kinds(circuitIntents(agentObject({ conditions: [closed], stats }), config, NOW))).toEqual(['condition', 'metric']);
  });
});

describe('config', () => {
  it('takes spec.circuitBreaker, and spec.plugins.circuit-breaker over it', () => {
    expect(circuitBreaker.settingsFrom?.({ circuitBreaker: { failureThreshold: 7, cooldownSeconds: 5 } })).toEqual({
      failureThreshold: 7,
      cooldownSeconds: 5,
    });
    expect(circuitBreaker.config.parse({})).toEqual({ failureThreshold: 5, cooldownSeconds: 60 });
    expect(circuitBreaker.config.safeParse({ failureThreshold: 0 }).success).toBe(false);
    expect(circuitBreaker.config.safeParse({ threshold: 3 }).success).toBe(false);
  });
});
