import { describe, expect, it } from 'vitest';
import { agent, cycleState, task, type AgentFields, type TaskFields } from '../../framework/routing-fixtures.ts';
import type { RoutingPlugin } from '../../framework/types.ts';
import { affinity } from './affinity.ts';
import { agentState } from './agent-state.ts';
import { capacity } from './capacity.ts';
import { requiredCapabilities } from './required-capabilities.ts';

function verdict(plugin: RoutingPlugin, t: TaskFields, a: AgentFields, reservedBefore = 0): string {
  const state = cycleState();
  const target = agent('a', a);
  for (let i = 0; i < reservedBefore; i++) state.reserve(task(`earlier-${i}`), target);
  const result = plugin.filter?.(task('t', t), target, state);
  if (result === undefined) throw new Error(`${plugin.name} has no filter`);
  return result.ok ? 'ok' : result.reason;
}

describe('required-capabilities', () => {
  it.each([
    ['no requirements', [], [], 'ok'],
    ['all present', ['gpu', 'ts'], ['ts', 'gpu', 'py'], 'ok'],
    ['one missing', ['gpu', 'ts'], ['ts'], 'lack capability gpu'],
    ['several missing: the first in sorted order', ['ts', 'gpu', 'py'], [], 'lack capability gpu'],
    ['agent without capabilities', ['review'], [], 'lack capability review'],
  ] as [string, string[], string[], string][])('%s', (_case, required, capabilities, expected) => {
    expect(verdict(requiredCapabilities(), { required }, { capabilities })).toBe(expected);
  });
});

describe('agent-state', () => {
  it.each([
    ['ready, closed circuit', {}, 0, 'ok'],
    ['leaving beats every other state', { leaving: true, sleeping: true, ready: false, circuit: 'open' }, 0, 'draining or being deleted'],
    ['asleep', { sleeping: true, ready: false }, 0, 'asleep'],
    ['not ready', { ready: false }, 0, 'not ready'],
    ['circuit open', { circuit: 'open' }, 0, 'circuit open'],
    ['half-open, no trial yet', { circuit: 'half-open' }, 0, 'ok'],
    ['half-open, trial running', { circuit: 'half-open', trialInFlight: true }, 0, 'circuit half-open, trial running'],
    ['half-open, trial given earlier in this cycle', { circuit: 'half-open' }, 1, 'circuit half-open, trial running'],
    ['closed, tasks given earlier in this cycle', { maxConcurrentTasks: 3 }, 2, 'ok'],
  ] as [string, AgentFields, number, string][])('%s', (_case, fields, reserved, expected) => {
    expect(verdict(agentState(), {}, fields, reserved)).toBe(expected);
  });
});

describe('capacity', () => {
  it.each([
    ['idle', { maxConcurrentTasks: 1, active: 0 }, 0, 'ok'],
    ['full', { maxConcurrentTasks: 1, active: 1 }, 0, 'at capacity'],
    ['over full (capacity lowered)', { maxConcurrentTasks: 2, active: 5 }, 0, 'at capacity'],
    ['one slot left', { maxConcurrentTasks: 3, active: 2 }, 0, 'ok'],
    ['filled in this cycle', { maxConcurrentTasks: 3, active: 1 }, 2, 'at capacity'],
  ] as [string, AgentFields, number, string][])('%s', (_case, fields, reserved, expected) => {
    expect(verdict(capacity(), {}, fields, reserved)).toBe(expected);
  });
});

describe('affinity filter', () => {
  it.each([
    ['no affinity', {}, 'ok'],
    ['only a context key: never filters', { affinity: { contextKey: 'c1' } }, 'ok'],
    ['pinned to this agent', { affinity: { agent: 'a' } }, 'ok'],
    ['pinned elsewhere', { affinity: { agent: 'b' } }, 'not the pinned agent b'],
  ] as [string, TaskFields, string][])('%s', (_case, fields, expected) => {
    expect(verdict(affinity(), fields, {})).toBe(expected);
  });

  it('compares names, not keys: the agent is always in the task’s namespace', () => {
    expect(verdict(affinity(), { namespace: 'x', affinity: { agent: 'a' } }, { namespace: 'x' })).toBe('ok');
  });
});
