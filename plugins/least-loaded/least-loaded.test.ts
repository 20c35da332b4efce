import { expect, it } from 'vitest';
import { agent, cycleState, routingOf, task } from '../../operator/src/framework/testing.ts';
import { leastLoaded } from './index.ts';

const routing = routingOf(leastLoaded);

it.each([
  ['idle', 0, 4, 100],
  ['quarter', 1, 4, 75],
  ['full', 2, 2, 0],
  ['over full', 5, 2, 0],
  ['no slots: counts as full', 0, 0, 0],
] as [string, number, number, number][])('%s', (_case, active, maxConcurrentTasks, expected) => {
  expect(routing.score?.(task('t'), agent('a', { active, maxConcurrentTasks }), cycleState())).toBe(expected);
});

it('sees tasks reserved earlier in the cycle', () => {
  const state = cycleState();
  const a = agent('a', { maxConcurrentTasks: 4 });
  state.reserve(task('x'), a);
  expect(routing.score?.(task('t'), a, state)).toBe(75);
});

it('has no settings', () => {
  expect(() => routingOf(leastLoaded, { weight: 1 })).toThrow();
});
