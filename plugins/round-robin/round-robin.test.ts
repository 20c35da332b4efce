import { describe, expect, it } from 'vitest';
import type { AgentInfo } from '../../operator/src/framework/index.ts';
import { agent, cycleState, NOW, routingOf, task } from '../../operator/src/framework/testing.ts';
import { rankScores, roundRobin } from './index.ts';

const routing = routingOf(roundRobin);

/** Raw scores, then normalize, for several agents in one state, as the cycle does. */
function normalized(agents: readonly AgentInfo[], state = cycleState()): Record<string, number> {
  const t = task('t');
  const scores = new Map(agents.map((a) => [a.key, routing.score?.(t, a, state) ?? Number.NaN]));
  routing.normalize?.(t, scores, state);
  return Object.fromEntries([...scores].map(([key, score]) => [key.replace(/^ns\//, ''), score]));
}

describe('round-robin', () => {
  it('ranks the agent that waited longest first, never-assigned above all', () => {
    const agents = [
      agent('recent', { lastAssignedAt: NOW - 1_000 }),
      agent('never'),
      agent('old', { lastAssignedAt: NOW - 60_000 }),
      agent('older', { lastAssignedAt: NOW - 600_000 }),
      agent('ancient', { lastAssignedAt: 0 }),
    ];
    expect(normalized(agents)).toEqual({ never: 100, ancient: 75, older: 50, old: 25, recent: 0 });
  });

  it('counts an agent given a task in this cycle as the most recent', () => {
    const state = cycleState();
    const agents = [agent('never'), agent('old', { lastAssignedAt: NOW - 60_000 }), agent('recent', { lastAssignedAt: NOW - 1 })];
    state.reserve(task('x'), agents[0] as AgentInfo);
    expect(normalized(agents, state)).toEqual({ old: 100, recent: 50, never: 0 });
  });

  it('gives equal raw scores equal ranks, and one agent alone 100', () => {
    expect(normalized([agent('a'), agent('b')])).toEqual({ a: 100, b: 100 });
    expect(normalized([agent('a', { lastAssignedAt: NOW })])).toEqual({ a: 100 });
  });

  it('treats a last assignment in the future (clock skew) as just now', () => {
    expect(normalized([agent('skewed', { lastAssignedAt: NOW + 5_000 }), agent('now', { lastAssignedAt: NOW })])).toEqual({
      skewed: 100,
      now: 100,
    });
  });

  it('rankScores maps distinct values to evenly spaced ranks', () => {
    const scores = new Map([
      ['a', 7],
      ['b', -3],
      ['c', 7],
      ['d', 1],
    ]);
    rankScores(scores);
    expect(Object.fromEntries(scores)).toEqual({ a: 100, b: 0, c: 100, d: 50 });
  });

  it('has no settings', () => {
    expect(() => routingOf(roundRobin, { order: 'name' })).toThrow();
  });
});
