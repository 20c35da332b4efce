import { describe, expect, it } from 'vitest';
import { agent, cycleState, NOW, task, type AgentFields, type TaskFields } from '../../framework/routing-fixtures.ts';
import type { AgentInfo, RoutingPlugin } from '../../framework/types.ts';
import { affinity } from './affinity.ts';
import { leastLoaded } from './least-loaded.ts';
import { mostLoaded } from './most-loaded.ts';
import { powerOfTwoChoices } from './power-of-two-choices.ts';
import { preferredCapabilities } from './preferred-capabilities.ts';
import { rankScores, roundRobin } from './round-robin.ts';

function scoreOf(plugin: RoutingPlugin, t: TaskFields, a: AgentFields): number {
  if (plugin.score === undefined) throw new Error(`${plugin.name} does not score`);
  return plugin.score(task('t', t), agent('a', a), cycleState());
}

/** Raw scores, then normalize, for several agents in one state, as the cycle does. */
function normalized(plugin: RoutingPlugin, agents: readonly AgentInfo[], state = cycleState()): Record<string, number> {
  const t = task('t');
  const scores = new Map(agents.map((a) => [a.name, plugin.score?.(t, a, state) ?? Number.NaN]));
  plugin.normalize?.(t, scores);
  return Object.fromEntries(scores);
}

describe('affinity score', () => {
  it.each([
    ['no context key', {}, ['c1'], 0],
    ['agent holds the context', { affinity: { contextKey: 'c1' } }, ['c0', 'c1'], 100],
    ['agent holds other contexts', { affinity: { contextKey: 'c1' } }, ['c2'], 0],
  ] as [string, TaskFields, string[], number][])('%s', (_case, t, contextKeys, expected) => {
    expect(scoreOf(affinity(), t, { contextKeys })).toBe(expected);
  });
});

describe('preferred-capabilities', () => {
  it.each([
    ['prefers nothing', [], [], 100],
    ['has all', ['ts', 'gpu'], ['gpu', 'ts'], 100],
    ['has half', ['ts', 'gpu'], ['ts'], 50],
    ['has a quarter', ['a', 'b', 'c', 'd'], ['d'], 25],
    ['has none', ['ts'], ['py'], 0],
  ] as [string, string[], string[], number][])('%s', (_case, preferred, capabilities, expected) => {
    expect(scoreOf(preferredCapabilities(), { preferred }, { capabilities })).toBe(expected);
  });
});

describe('least-loaded and most-loaded', () => {
  it.each([
    ['idle', 0, 4, 100, 0],
    ['quarter', 1, 4, 75, 25],
    ['full', 2, 2, 0, 100],
    ['over full', 5, 2, 0, 100],
  ] as [string, number, number, number, number][])('%s', (_case, active, maxConcurrentTasks, least, most) => {
    expect(scoreOf(leastLoaded(), {}, { active, maxConcurrentTasks })).toBe(least);
    expect(scoreOf(mostLoaded(), {}, { active, maxConcurrentTasks })).toBe(most);
  });

  it('sees tasks reserved earlier in the cycle', () => {
    const state = cycleState();
    const a = agent('a', { maxConcurrentTasks: 4 });
    state.reserve(task('x'), a);
    expect(leastLoaded().score?.(task('t'), a, state)).toBe(75);
    expect(mostLoaded().score?.(task('t'), a, state)).toBe(25);
  });
});

describe('round-robin', () => {
  it('ranks the agent that waited longest first, never-assigned above all', () => {
    const agents = [
      agent('recent', { lastAssignedAt: NOW - 1_000 }),
      agent('never'),
      agent('old', { lastAssignedAt: NOW - 60_000 }),
      agent('older', { lastAssignedAt: NOW - 600_000 }),
      agent('ancient', { lastAssignedAt: 0 }),
    ];
    expect(normalized(roundRobin(), agents)).toEqual({ never: 100, ancient: 75, older: 50, old: 25, recent: 0 });
  });

  it('counts an agent given a task in this cycle as the most recent', () => {
    const state = cycleState();
    const agents = [agent('never'), agent('old', { lastAssignedAt: NOW - 60_000 }), agent('recent', { lastAssignedAt: NOW - 1 })];
    state.reserve(task('x'), agents[0] as AgentInfo);
    expect(normalized(roundRobin(), agents, state)).toEqual({ old: 100, recent: 50, never: 0 });
  });

  it('gives equal raw scores equal ranks, and one agent alone 100', () => {
    expect(normalized(roundRobin(), [agent('a'), agent('b')])).toEqual({ a: 100, b: 100 });
    expect(normalized(roundRobin(), [agent('a', { lastAssignedAt: NOW })])).toEqual({ a: 100 });
  });

  it('treats a last assignment in the future (clock skew) as just now', () => {
    expect(normalized(roundRobin(), [agent('skewed', { lastAssignedAt: NOW + 5_000 }), agent('now', { lastAssignedAt: NOW })])).toEqual({
      skewed: 100,
      now: 100,
    });
  });

  it('rankScores maps distinct values to evenly spaced ranks', () => {
    const scores = new Map([['a', 7], ['b', -3], ['c', 7], ['d', 1]]);
    rankScores(scores);
    expect(Object.fromEntries(scores)).toEqual({ a: 100, b: 0, c: 100, d: 50 });
  });
});

describe('power-of-two-choices', () => {
  it('carries the load in the integer part and the draw in the fraction', () => {
    const raw = powerOfTwoChoices().score?.(task('t'), agent('a', { active: 3, maxConcurrentTasks: 4 }), cycleState()) ?? -1;
    expect(Math.floor(raw)).toBe(3);
    expect(raw - 3).toBeGreaterThanOrEqual(0);
    expect(raw - 3).toBeLessThan(1);
  });

  it.each([
    ['the less loaded of the two drawn wins', { a: 2.9, b: 0.8, c: 5.1 }, { a: 50, b: 100, c: 0 }],
    ['equal load: the first drawn wins', { a: 1.2, b: 1.7, c: 1.1 }, { a: 50, b: 100, c: 0 }],
    ['the least loaded agent loses when it is not drawn', { a: 0.1, b: 3.9, c: 4.8 }, { a: 0, b: 100, c: 50 }],
    ['one agent', { a: 7.5 }, { a: 100 }],
    ['none', {}, {}],
  ] as [string, Record<string, number>, Record<string, number>][])('normalize: %s', (_case, raw, expected) => {
    const scores = new Map(Object.entries(raw));
    powerOfTwoChoices().normalize?.(task('t'), scores);
    expect(Object.fromEntries(scores)).toEqual(expected);
  });

  it('draws from the seed: the same seed, the same pair', () => {
    const agents = ['a', 'b', 'c', 'd', 'e'].map((n) => agent(n));
    const pairs = [1, 1, 2].map((seed) => normalized(powerOfTwoChoices(), agents, cycleState(seed)));
    expect(pairs[0]).toEqual(pairs[1]);
    expect(Object.values(pairs[0] ?? {}).sort()).toEqual([0, 0, 0, 100, 50]);
  });
});
