import { expect, it } from 'vitest';
import { agent, cycleState, routingOf, task } from '../../operator/src/framework/testing.ts';
import { mostLoaded } from './index.ts';

const routing = routingOf(mostLoaded);

it.each([
  ['idle', 0, 4, 0],
  ['quarter', 1, 4, 25],
  ['full', 2, 2, 100],
  ['over full', 5, 2, 100],
  ['no slots: counts as full', 0, 0, 100],
] as [string, number, number, number][])('%s', (_case, active, maxConcurrentTasks, expected) => {
  expect(routing.score?.(task('t'), agent('a', { active, maxConcurrentTasks }), cycleState())).toBe(expected);
});

it('sees tasks reserved earlier in the cycle', () => {
  const state = cycleState();
  const a = agent('a', { maxConcurrentTasks: 4 });
  state.reserve(task('x'), a);
  expect(routing.score?.(task('t'), a, state)).toBe(25);
});

it('has no settings', () => {
  expect(() => routingOf(mostLoaded, { weight: 1 })).toThrow();
});
