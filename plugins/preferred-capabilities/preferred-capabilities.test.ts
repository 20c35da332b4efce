import { expect, it } from 'vitest';
import { agent, cycleState, routingOf, task } from '../../operator/src/framework/testing.ts';
import { preferredCapabilities } from './index.ts';

const routing = routingOf(preferredCapabilities);

it.each([
  ['prefers nothing', [], [], 100],
  ['has all', ['ts', 'gpu'], ['gpu', 'ts'], 100],
  ['has half', ['ts', 'gpu'], ['ts'], 50],
  ['has a quarter', ['a', 'b', 'c', 'd'], ['d'], 25],
  ['has none', ['ts'], ['py'], 0],
] as [string, string[], string[], number][])('%s', (_case, preferred, capabilities, expected) => {
  expect(routing.score?.(task('t', { preferred }), agent('a', { capabilities }), cycleState())).toBe(expected);
});

it('has no settings', () => {
  expect(() => routingOf(preferredCapabilities, { required: true })).toThrow();
});
