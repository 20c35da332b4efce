import { describe, expect, it } from 'vitest';
import {
  passes,
  success,
  unschedulable,
  type AgentInfo,
  type PostFilterHandle,
  type Status,
  type TaskInfo,
} from '../../operator/src/framework/index.ts';
import { agent, cycleState, routingOf, task, type AgentFields } from '../../operator/src/framework/testing.ts';
import { agentState } from './index.ts';

const routing = routingOf(agentState);

function filter(a: AgentInfo, state = cycleState()): Status {
  const status = routing.filter?.(task('t'), a, state);
  if (status === undefined) throw new Error('agent-state has no filter');
  return status;
}

function verdict(fields: AgentFields, reservedBefore = 0): string {
  const state = cycleState();
  const target = agent('a', fields);
  for (let i = 0; i < reservedBefore; i++) state.reserve(task(`earlier-${i}`), target);
  const status = filter(target, state);
  return status.code === 'Success' ? 'ok' : `${status.code}: ${status.reason ?? ''}`;
}

describe('agent-state filter', () => {
  it.each([
    ['ready', {}, 0, 'ok'],
    [
      'leaving beats every other state',
      { leaving: true, sleeping: true, ready: false },
      0,
      'UnschedulableAndUnresolvable: draining or being deleted',
    ],
    ['asleep', { sleeping: true, ready: false }, 0, 'Unschedulable: asleep'],
    ['not ready', { ready: false }, 0, 'Unschedulable: not ready'],
    ['tasks given earlier in this cycle', { maxConcurrentTasks: 3 }, 2, 'ok'],
  ] as [string, AgentFields, number, string][])('%s', (_case, fields, reserved, expected) => {
    expect(verdict(fields, reserved)).toBe(expected);
  });
});

describe('agent-state postFilter', () => {
  const asleep = { plugin: 'agent-state', ...unschedulable('asleep') };

  /** Runs postFilter with a handle whose runFilters is `filters`; returns the agents it wakes and the ones it tried. */
  function wakes(
    agents: readonly AgentInfo[],
    statuses: Record<string, Status>,
    filters: (t: TaskInfo, a: AgentInfo) => Status,
  ): { wake: readonly string[]; tried: AgentInfo[] } {
    const tried: AgentInfo[] = [];
    const handle: PostFilterHandle = {
      agents,
      runFilters(t, a) {
        tried.push(a);
        return filters(t, a);
      },
    };
    const t = task('t');
    const result = routing.postFilter?.(t, new Map(Object.entries(statuses).map(([name, s]) => [`ns/${name}`, s])), handle, cycleState());
    if (result === undefined) throw new Error('agent-state has no postFilter');
    return { wake: result.wake ?? [], tried };
  }

  /** agent-state's own filter, then stand-ins for the circuit breaker and capacity. */
  const ownAndCapacity = (t: TaskInfo, a: AgentInfo): Status => {
    const own = routing.filter?.(t, a, cycleState()) ?? success;
    if (!passes(own)) return { ...own, plugin: 'agent-state' };
    if (a.conditions.CircuitOpen?.status === 'True')
      return { plugin: 'circuit-breaker', code: 'UnschedulableAndUnresolvable', reason: 'circuit open' };
    return a.active >= a.maxConcurrentTasks ? { plugin: 'capacity', ...unschedulable('at capacity') } : success;
  };

  it('proposes the asleep agents that would pass every filter once woken, in the handle’s order', () => {
    const agents = [
      agent('sleepy-a', { sleeping: true, ready: false }),
      agent('awake', { active: 1 }),
      agent('sleepy-b', { sleeping: true, ready: false }),
    ];
    const { wake, tried } = wakes(
      agents,
      { 'sleepy-a': asleep, awake: { plugin: 'capacity', ...unschedulable('at capacity') }, 'sleepy-b': asleep },
      ownAndCapacity,
    );
    expect(wake).toEqual(['ns/sleepy-a', 'ns/sleepy-b']);
    // Judged as woken copies, and only the asleep ones.
    expect(tried.map((a) => [a.name, a.sleeping, a.ready])).toEqual([
      ['sleepy-a', false, true],
      ['sleepy-b', false, true],
    ]);
  });

  it.each([
    ['its woken copy is full', { sleeping: true, ready: false, active: 1 }, asleep],
    [
      'its woken copy has an open circuit',
      { sleeping: true, ready: false, conditions: { CircuitOpen: { status: 'True', reason: 'TooManyFailures' } } },
      asleep,
    ],
    [
      'its status is from another plugin',
      { sleeping: true, ready: false },
      { plugin: 'required-capabilities', code: 'UnschedulableAndUnresolvable', reason: 'lack capability gpu' },
    ],
    ['another plugin says "asleep"', { sleeping: true, ready: false }, { plugin: 'other', ...unschedulable('asleep') }],
    ['agent-state gave another reason', { ready: false }, { plugin: 'agent-state', ...unschedulable('not ready') }],
    [
      'it is leaving',
      { leaving: true, sleeping: true },
      { plugin: 'agent-state', code: 'UnschedulableAndUnresolvable', reason: 'draining or being deleted' },
    ],
  ] as [string, AgentFields, Status][])('does not wake an agent when %s', (_case, fields, status) => {
    expect(wakes([agent('a', fields)], { a: status }, ownAndCapacity).wake).toEqual([]);
  });

  it('does not wake an agent without a status', () => {
    expect(wakes([agent('a', { sleeping: true, ready: false })], {}, ownAndCapacity).wake).toEqual([]);
  });

  it('asks the handle, not its own filter: a woken copy failing any filter is left out', () => {
    const agents = [agent('gpu', { sleeping: true, ready: false, capabilities: ['gpu'] }), agent('cpu', { sleeping: true, ready: false })];
    const needsGpu = (_t: TaskInfo, a: AgentInfo): Status =>
      a.capabilities.has('gpu')
        ? success
        : { plugin: 'required-capabilities', code: 'UnschedulableAndUnresolvable', reason: 'lack capability gpu' };
    expect(wakes(agents, { gpu: asleep, cpu: asleep }, needsGpu).wake).toEqual(['ns/gpu']);
  });
});

it('has no settings', () => {
  expect(() => routingOf(agentState, { wake: false })).toThrow();
});
