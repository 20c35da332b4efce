import { describe, expect, it } from 'vitest';
import type { AgentObject, Intent, TaskObject } from '../../operator/src/framework/index.ts';
import { agent, agentIndex, cycleState, routingOf, task, type AgentFields } from '../../operator/src/framework/testing.ts';
import { CONDITION, contextPlugin, REASONS } from './index.ts';

const routing = routingOf(contextPlugin);
const windowed = (tokens: number, extra: AgentFields = {}): AgentFields => ({
  context: { windowTokens: 10_000, compactAtPercent: 80, tokens },
  ...extra,
});

describe('filter', () => {
  it.each([
    ['an agent without a window', {}, {}, 'Success'],
    ['room enough', windowed(1000), { estimatedTokens: 5000 }, 'Success'],
    ['a task bigger than the whole window', windowed(0), { estimatedTokens: 10_001 }, `UnschedulableAndUnresolvable: ${REASONS.tooSmall}`],
    [
      'an agent in a compaction cycle',
      windowed(9000, { conditions: { [CONDITION]: { status: 'True', reason: 'Draining' } } }),
      {},
      `Unschedulable: ${REASONS.compacting}`,
    ],
    ['an agent done compacting', windowed(900, { conditions: { [CONDITION]: { status: 'False', reason: 'Compacted' } } }), {}, 'Success'],
  ] as [string, AgentFields, { estimatedTokens?: number }, string][])('%s', (_name, fields, t, expected) => {
    const s = routing.filter?.(task('t', t), agent('a', fields), cycleState());
    expect(s?.code === 'Success' ? 'Success' : `${s?.code ?? ''}: ${s?.reason ?? ''}`).toBe(expected);
  });
});

describe('preFilter', () => {
  it('skips a namespace without LLM agents (no Filter, no Score), and not one with any', () => {
    const plain = [agent('a'), agent('b')];
    expect(routing.preFilter?.(task('t', { estimatedTokens: 50 }), agentIndex(plain), cycleState())).toEqual({ status: { code: 'Skip' } });
    expect(routing.preFilter?.(task('t'), agentIndex([...plain, agent('llm', windowed(0))]), cycleState())).toEqual({});
  });
});

describe('score', () => {
  const score = (fields: AgentFields, estimatedTokens?: number): number | undefined =>
    routing.score?.(task('t', estimatedTokens === undefined ? {} : { estimatedTokens }), agent('a', fields), cycleState());
  it('prefers the agent with the most room, and none without room for the estimate', () => {
    expect(score({})).toBe(100);
    expect(score(windowed(0))).toBe(100);
    expect(score(windowed(2000))).toBe(75);
    expect(score(windowed(6000), 2000)).toBe(25);
    expect(score(windowed(6001), 2000)).toBe(0);
    expect(score(windowed(9000))).toBe(0);
  });
});

function agentObject(status: AgentObject['status'], context = { windowTokens: 8000, compactAtPercent: 80 }): AgentObject {
  return {
    metadata: { name: 'llm', namespace: 'ns', uid: 'u' },
    spec: {
      capabilities: [],
      runtime: { type: 'kubernetes', image: 'img' },
      maxConcurrentTasks: 1,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
      context,
    },
    status,
  };
}

describe('onTick', () => {
  const NOW = Date.parse('2026-12-01T00:00:00Z');
  const running = (name: string, phase: string): TaskObject => ({
    metadata: { name, namespace: 'ns', uid: name },
    spec: { requiredCapabilities: [], priority: 100, timeoutSeconds: 60, cancel: false },
    status: { phase: phase as 'Running', assignment: { agent: 'llm', attempt: 1, assignedAt: '2026-12-01T00:00:00Z' } },
  });
  const tick = (a: AgentObject, tasks: TaskObject[] = []): Intent[] =>
    contextPlugin.create({}).lifecycle?.onTick?.({ now: NOW, namespace: 'ns', agents: [a], tasks }) as Intent[];

  it('starts a cycle on an agent past its threshold: condition, Event, metrics', () => {
    // Its running tasks are counted from the Tasks: the Agent's activeTasks may lag.
    const intents = tick(agentObject({ activeTasks: 0, contextUsage: { tokens: 7000, percent: 88 } }), [
      running('a', 'Running'),
      running('b', 'Succeeded'),
    ]);
    expect(intents.filter((i) => i.kind !== 'metric')).toEqual([
      {
        kind: 'condition',
        target: { kind: 'Agent', name: 'llm' },
        condition: {
          type: CONDITION,
          status: 'True',
          reason: 'Draining',
          message: expect.stringContaining('context at 88% of 8000 tokens') as string,
        },
        since: NOW,
      },
      {
        kind: 'event',
        target: { kind: 'Agent', name: 'llm' },
        type: 'Normal',
        reason: 'ContextCompactionStarted',
        message: expect.stringContaining('once the 1 running task(s) finish') as string,
      },
    ]);
    const metrics = Object.fromEntries(intents.flatMap((i) => (i.kind === 'metric' ? [[i.name, i.value]] : [])));
    expect(metrics).toEqual({
      agent_context_tokens: 7000,
      agent_context_window_tokens: 8000,
      agent_context_compactions: 0,
      agent_context_compacting: 1,
    });
  });

  it('restarts an agent that cannot compact', () => {
    const intents = tick(
      agentObject({
        contextUsage: { tokens: 7000, percent: 88 },
        conditions: [
          {
            type: CONDITION,
            status: 'True',
            reason: 'CannotCompact',
            message: 'no compact command',
            lastTransitionTime: '2026-12-01T00:00:00Z',
          },
        ],
      }),
    );
    // The timeout of the next step runs from now, though the status stays True.
    expect(intents.find((i) => i.kind === 'condition')).toMatchObject({ condition: { reason: 'Recycling' }, since: NOW });
    expect(intents.find((i) => i.kind === 'agent')).toEqual({
      kind: 'agent',
      agent: 'llm',
      action: 'restart',
      reason: 'ContextRecycling',
      message: expect.stringContaining('no compact command') as string,
    });
  });

  it('leaves agents without a window alone', () => {
    const a = agentObject({});
    const { context: _c, ...spec } = a.spec;
    expect(tick({ ...a, spec })).toEqual([]);
  });
});
