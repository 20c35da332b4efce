import { expect, it } from 'vitest';
import { agent, cycleState, routingOf, task, type AgentFields } from '../../operator/src/framework/testing.ts';
import { capacity } from './index.ts';

const routing = routingOf(capacity);

function verdict(fields: AgentFields, reservedBefore: number): string {
  const state = cycleState();
  const target = agent('a', fields);
  for (let i = 0; i < reservedBefore; i++) state.reserve(task(`earlier-${i}`), target);
  const status = routing.filter?.(task('t'), target, state);
  if (status === undefined) throw new Error('capacity has no filter');
  return status.code === 'Success' ? 'ok' : `${status.code}: ${status.reason ?? ''}`;
}

it.each([
  ['idle', { maxConcurrentTasks: 1, active: 0 }, 0, 'ok'],
  ['full', { maxConcurrentTasks: 1, active: 1 }, 0, 'Unschedulable: at capacity'],
  ['over full (capacity lowered)', { maxConcurrentTasks: 2, active: 5 }, 0, 'Unschedulable: at capacity'],
  ['no slots at all', { maxConcurrentTasks: 0, active: 0 }, 0, 'Unschedulable: at capacity'],
  ['one slot left', { maxConcurrentTasks: 3, active: 2 }, 0, 'ok'],
  ['filled in this cycle', { maxConcurrentTasks: 3, active: 1 }, 2, 'Unschedulable: at capacity'],
] as [string, AgentFields, number, string][])('%s', (_case, fields, reserved, expected) => {
  expect(verdict(fields, reserved)).toBe(expected);
});

it('has no settings', () => {
  expect(() => routingOf(capacity, { max: 1 })).toThrow();
});
