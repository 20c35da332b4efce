import { describe, expect, it } from 'vitest';
import { agent, agentIndex, cycleState, routingOf, task, type AgentFields, type TaskFields } from '../../operator/src/framework/testing.ts';
import { affinity } from './index.ts';

const routing = routingOf(affinity);

function verdict(t: TaskFields, a: AgentFields): string {
  const status = routing.filter?.(task('t', t), agent('a', a), cycleState());
  if (status === undefined) throw new Error('affinity has no filter');
  return status.code === 'Success' ? 'ok' : `${status.code}: ${status.reason ?? ''}`;
}

function scoreOf(t: TaskFields, a: AgentFields): number {
  const score = routing.score?.(task('t', t), agent('a', a), cycleState());
  if (score === undefined) throw new Error('affinity does not score');
  return score;
}

describe('affinity filter', () => {
  it.each([
    ['no affinity', {}, 'ok'],
    ['only a context key: never filters', { affinity: { contextKey: 'c1' } }, 'ok'],
    ['pinned to this agent', { affinity: { agent: 'a' } }, 'ok'],
    ['pinned elsewhere', { affinity: { agent: 'b' } }, 'UnschedulableAndUnresolvable: not the pinned agent b'],
  ] as [string, TaskFields, string][])('%s', (_case, fields, expected) => {
    expect(verdict(fields, {})).toBe(expected);
  });

  it('compares names, not keys: the agent is always in the task’s namespace', () => {
    expect(verdict({ namespace: 'x', affinity: { agent: 'a' } }, { namespace: 'x' })).toBe('ok');
  });
});

describe('affinity score', () => {
  it.each([
    ['no context key', {}, ['c1'], 0],
    ['agent holds the context', { affinity: { contextKey: 'c1' } }, ['c0', 'c1'], 100],
    ['agent holds other contexts', { affinity: { contextKey: 'c1' } }, ['c2'], 0],
    ['pinned, no context key', { affinity: { agent: 'a' } }, ['c1'], 0],
  ] as [string, TaskFields, string[], number][])('%s', (_case, t, contextKeys, expected) => {
    expect(scoreOf(t, { contextKeys })).toBe(expected);
  });

  // A window of 10,000 tokens compacting at 80%: 8,000 usable.
  const window = (tokens: number): AgentFields => ({
    contextKeys: ['c1'],
    context: { windowTokens: 10_000, compactAtPercent: 80, tokens },
  });
  it.each([
    ['room for the estimate', 5_000, 3_000, 100],
    ['exactly the room left', 5_000, 3_000, 100],
    ['no room for the estimate: the conversation moves', 6_000, 3_000, 0],
    ['at the threshold, no estimate', 8_000, undefined, 0],
    ['below the threshold, no estimate', 7_999, undefined, 100],
  ] as [string, number, number | undefined, number][])(
    'keeps the context unless its window is too full: %s',
    (_case, tokens, estimatedTokens, expected) => {
      expect(
        scoreOf({ affinity: { contextKey: 'c1' }, ...(estimatedTokens !== undefined ? { estimatedTokens } : {}) }, window(tokens)),
      ).toBe(expected);
    },
  );
});

it('has no settings', () => {
  expect(() => routingOf(affinity, { weight: 3 })).toThrow();
});

describe('affinity preFilter', () => {
  const index = agentIndex([agent('a', { contextKeys: ['c1'] }), agent('b'), agent('c', { contextKeys: ['c1', 'c2'] })]);
  const preFilter = (t: TaskFields): unknown => {
    const r = routing.preFilter?.(task('t', t), index, cycleState());
    if (r === undefined) throw new Error('affinity has no preFilter');
    return {
      ...(r.status ? { status: r.status.code } : {}),
      ...(r.agents ? { agents: r.agents.map((a) => a.key) } : {}),
      ...(r.prefer ? { prefer: [...r.prefer].sort() } : {}),
    };
  };

  it.each([
    ['no affinity: nothing to filter', {}, { status: 'Skip' }],
    ['pinned: only that agent is a candidate', { affinity: { agent: 'b' } }, { agents: ['ns/b'] }],
    ['pinned to an agent not in the namespace: no candidate', { affinity: { agent: 'gone' } }, { agents: [] }],
    ['a context key: its holders are looked at first', { affinity: { contextKey: 'c1' } }, { prefer: ['ns/a', 'ns/c'] }],
    ['a context nobody holds: nothing to prefer', { affinity: { contextKey: 'c9' } }, {}],
  ] as [string, TaskFields, unknown][])('%s', (_case, t, expected) => {
    expect(preFilter(t)).toEqual(expected);
  });
});
