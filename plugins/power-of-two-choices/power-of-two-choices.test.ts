import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentInfo } from '../../operator/src/framework/index.ts';
import { agent, cycleState, routingOf, task } from '../../operator/src/framework/testing.ts';
import { DRAWS, powerOfTwoChoices } from './index.ts';

const routing = routingOf(powerOfTwoChoices);

/** Raw scores of several agents on one cycle state, then normalize with that state, as the cycle does. */
function scoreAndNormalize(agents: readonly AgentInfo[], state = cycleState()): Map<string, number> {
  const t = task('t');
  const scores = new Map(agents.map((a) => [a.key, routing.score?.(t, a, state) ?? Number.NaN]));
  routing.normalize?.(t, scores, state);
  return scores;
}

describe('power-of-two-choices score', () => {
  it('is the agent’s load in this cycle', () => {
    const state = cycleState();
    const a = agent('a', { active: 3, maxConcurrentTasks: 8 });
    expect(routing.score?.(task('t'), a, state)).toBe(3);
    state.reserve(task('x'), a);
    expect(routing.score?.(task('t'), a, state)).toBe(4);
  });

  it('leaves one draw per agent in the cycle state, taken from the seeded random()', () => {
    const state = cycleState(7);
    const agents = ['a', 'b', 'c'].map((n) => agent(n));
    for (const a of agents) routing.score?.(task('t'), a, state);
    const same = cycleState(7);
    const expected = agents.map((a) => [a.key, same.random()]);
    expect(DRAWS.name).toBe('power-of-two-choices/draws');
    expect([...(state.read(DRAWS) ?? [])]).toEqual(expected);
  });
});

describe('power-of-two-choices normalize', () => {
  // Loads are the raw scores; draws are what score left in the state (undefined: nothing).
  it.each([
    ['the less loaded of the two drawn wins', { a: 2, b: 0, c: 5 }, { a: 0.9, b: 0.8, c: 0.1 }, { a: 50, b: 100, c: 0 }],
    ['equal load: the first drawn wins', { a: 1, b: 1, c: 1 }, { a: 0.2, b: 0.7, c: 0.1 }, { a: 50, b: 100, c: 0 }],
    ['the least loaded agent loses when it is not drawn', { a: 0, b: 3, c: 4 }, { a: 0.1, b: 0.9, c: 0.8 }, { a: 0, b: 100, c: 50 }],
    ['equal draws: the lower key is drawn first', { a: 1, b: 1, c: 0 }, { a: 0.5, b: 0.5, c: 0.1 }, { a: 100, b: 50, c: 0 }],
    ['an agent without a draw counts as drawn 0', { a: 0, b: 1, c: 2 }, { b: 0.3, c: 0.6 }, { a: 0, b: 100, c: 50 }],
    ['no draws in the state: by key', { a: 2, b: 1, c: 0 }, undefined, { a: 50, b: 100, c: 0 }],
    ['one agent', { a: 7 }, { a: 0.5 }, { a: 100 }],
    ['none', {}, {}, {}],
  ] as [string, Record<string, number>, Record<string, number> | undefined, Record<string, number>][])(
    '%s',
    (_case, loads, draws, expected) => {
      const state = cycleState();
      if (draws !== undefined) state.write(DRAWS, new Map(Object.entries(draws)));
      const scores = new Map(Object.entries(loads));
      routing.normalize?.(task('t'), scores, state);
      expect(Object.fromEntries(scores)).toEqual(expected);
    },
  );
});

describe('power-of-two-choices over a cycle', () => {
  it('scores the two highest draws 100 and 50, the less loaded 100, the others 0', () => {
    fc.assert(
      fc.property(fc.integer(), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 2, maxLength: 8 }), (seed, loads) => {
        const agents = loads.map((active, i) => agent(`a${i}`, { active, maxConcurrentTasks: 10 }));
        const state = cycleState(seed);
        const scores = scoreAndNormalize(agents, state);
        const draws = state.read(DRAWS) ?? new Map<string, number>();
        const [first, second] = [...draws].sort((x, y) => y[1] - x[1]).map(([key]) => key);
        const load = (key: string | undefined): number => agents.find((a) => a.key === key)?.active ?? Number.NaN;
        const [winner, runnerUp] = load(second) < load(first) ? [second, first] : [first, second];
        expect([...scores.values()].sort((x, y) => y - x)).toEqual([100, 50, ...agents.slice(2).map(() => 0)]);
        expect(winner !== undefined && scores.get(winner)).toBe(100);
        expect(runnerUp !== undefined && scores.get(runnerUp)).toBe(50);
      }),
    );
  });

  it('draws from the seed: the same seed, the same pair', () => {
    const agents = ['a', 'b', 'c', 'd', 'e'].map((n) => agent(n));
    const pair = (seed: number): Record<string, number> => Object.fromEntries(scoreAndNormalize(agents, cycleState(seed)));
    expect(pair(1)).toEqual(pair(1));
    expect(Object.values(pair(1)).sort()).toEqual([0, 0, 0, 100, 50]);
    // Other seeds draw other pairs.
    expect(new Set([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => JSON.stringify(pair(seed)))).size).toBeGreaterThan(1);
  });

  it('has no settings', () => {
    expect(() => routingOf(powerOfTwoChoices, { choices: 3 })).toThrow();
  });
});
