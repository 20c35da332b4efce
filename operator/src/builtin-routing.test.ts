import { describe, expect, it } from 'vitest';
import { builtinRegistry } from './builtin-registry.ts';
import { runCycle, type Profile } from './framework/cycle.ts';
import { agent, NOW, task } from './framework/testing.ts';
import type { AgentInfo, CycleResult, Snapshot, TaskInfo } from './framework/types.ts';

const OPEN = { CircuitOpen: { status: 'True', reason: 'TooManyFailures' } };
const HALF_OPEN = { CircuitOpen: { status: 'True', reason: 'HalfOpen' } };

// The built-in plugins together, through the framework, as a namespace without a policy
// (or with a strategy) routes: what users see in "why pending" and in placements.

function profileFor(strategy: 'Balanced' | 'LeastLoaded' | 'RoundRobin' | 'PowerOfTwoChoices' | 'BinPack' = 'Balanced'): Profile {
  const built = builtinRegistry().build({ strategy }, undefined);
  if (built.profile === undefined) throw new Error(built.errors.join('; '));
  return built.profile;
}

function cycle(tasks: TaskInfo[], agents: AgentInfo[], profile = profileFor(), seed = 7): CycleResult {
  const snapshot: Snapshot = { now: NOW, tasks, agents, seed };
  return runCycle(snapshot, profile);
}

const placed = (r: CycleResult): string[] => r.assignments.map((a) => `${a.task.name}->${a.agent.name}`);

describe('runCycle: pending tasks say why', () => {
  it('counts the first failing filter per agent and prints the most common first', () => {
    const agents = [
      ...['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7'].map((n) => agent(n, { capabilities: ['ts'] })),
      ...['b1', 'b2', 'b3', 'b4', 'b5'].map((n) => agent(n, { capabilities: ['gpu'], active: 1 })),
    ];
    const [status] = cycle([task('t', { required: ['gpu'] })], agents).pending;
    expect(status).toMatchObject({
      total: 12,
      reasons: { 'lack capability gpu': 7, 'at capacity': 5 },
      plugins: { 'lack capability gpu': 'required-capabilities', 'at capacity': 'capacity' },
      message: '0/12 agents can run it: 7 lack capability gpu (required-capabilities), 5 at capacity (capacity)',
      wake: [],
    });
  });

  it('orders equal counts alphabetically', () => {
    const agents = [agent('a', { ready: false }), agent('b', { conditions: OPEN }), agent('c', { leaving: true })];
    expect(cycle([task('t')], agents).pending[0]?.message).toBe(
      '0/3 agents can run it: 1 circuit open (circuit-breaker), 1 draining or being deleted (agent-state), 1 not ready (agent-state)',
    );
  });

  it('says so when the namespace has no agents, and never looks at other namespaces', () => {
    const r = cycle([task('t', { namespace: 'empty' })], [agent('a', { namespace: 'other' })]);
    expect(r.pending[0]).toMatchObject({ total: 0, reasons: {}, message: 'no agents in namespace empty', wake: [] });
  });

  it('names the agent a task is pinned to when the namespace has none', () => {
    const r = cycle([task('t', { namespace: 'empty', affinity: { agent: 'ghost' } })], []);
    expect(r.pending[0]?.message).toBe('no agents in namespace empty (it is pinned to agent ghost)');
  });

  it('lists sleeping agents that could run it once woken, and only those', () => {
    const agents = [
      agent('gpu-asleep', { capabilities: ['gpu'], sleeping: true, ready: false }),
      agent('ts-asleep', { capabilities: ['ts'], sleeping: true, ready: false }),
      agent('gpu-asleep-leaving', { capabilities: ['gpu'], sleeping: true, leaving: true }),
      agent('gpu-asleep-broken', { capabilities: ['gpu'], sleeping: true, conditions: OPEN }),
      agent('gpu-busy', { capabilities: ['gpu'], active: 1 }),
    ];
    const [status] = cycle([task('t', { required: ['gpu'] })], agents).pending;
    expect(status?.wake).toEqual(['ns/gpu-asleep']);
    expect(status?.reasons).toEqual({ asleep: 2, 'draining or being deleted': 1, 'lack capability gpu': 1, 'at capacity': 1 });
  });

  it('wakes only the pinned agent for a pinned task', () => {
    const agents = [agent('a', { sleeping: true }), agent('b', { sleeping: true })];
    expect(cycle([task('t', { affinity: { agent: 'b' } })], agents).pending[0]?.wake).toEqual(['ns/b']);
  });
});

describe('runCycle: choosing an agent', () => {
  it('fills capacity within the cycle: a second task sees the first one’s reservation', () => {
    const r = cycle([task('t1'), task('t2'), task('t3')], [agent('a', { maxConcurrentTasks: 2 })]);
    expect(placed(r)).toEqual(['t1->a', 't2->a']);
    expect(r.pending.map((p) => p.message)).toEqual(['0/1 agents can run it: 1 at capacity (capacity)']);
  });

  it('lets one trial through a half-open circuit per cycle', () => {
    const r = cycle([task('t1'), task('t2')], [agent('a', { conditions: HALF_OPEN, maxConcurrentTasks: 5 })]);
    expect(placed(r)).toEqual(['t1->a']);
    expect(r.pending[0]?.reasons).toEqual({ 'circuit half-open, trial running': 1 });
  });

  it('prefers the agent holding the context, then the one with preferred capabilities', () => {
    const agents = [agent('plain'), agent('pref', { capabilities: ['ts'] }), agent('ctx', { contextKeys: ['conv-1'] })];
    expect(placed(cycle([task('t', { preferred: ['ts'], affinity: { contextKey: 'conv-1' } })], agents))).toEqual(['t->ctx']);
    expect(placed(cycle([task('t', { preferred: ['ts'] })], agents))).toEqual(['t->pref']);
  });

  it('spreads with LeastLoaded and packs with BinPack', () => {
    const agents = [agent('a', { maxConcurrentTasks: 2 }), agent('b', { maxConcurrentTasks: 2 })];
    expect(placed(cycle([task('t1'), task('t2')], agents, profileFor('LeastLoaded')))).toEqual(['t1->a', 't2->b']);
    expect(placed(cycle([task('t1'), task('t2')], agents, profileFor('BinPack')))).toEqual(['t1->a', 't2->a']);
  });

  it('rotates with RoundRobin, starting from the agent idle longest', () => {
    const agents = [
      agent('a', { lastAssignedAt: NOW - 10 }),
      agent('b', { lastAssignedAt: NOW - 30 }),
      agent('c', { lastAssignedAt: NOW - 20 }),
    ].map((a) => ({ ...a, maxConcurrentTasks: 3 }));
    const tasks = ['t1', 't2', 't3', 't4', 't5', 't6'].map((n) => task(n));
    expect(placed(cycle(tasks, agents, profileFor('RoundRobin')))).toEqual(['t1->b', 't2->c', 't3->a', 't4->b', 't5->c', 't6->a']);
  });

  it('with PowerOfTwoChoices, spreads over the fleet and repeats itself for a seed', () => {
    const agents = ['a', 'b', 'c', 'd'].map((n) => agent(n, { maxConcurrentTasks: 10 }));
    const tasks = Array.from({ length: 8 }, (_, i) => task(`t${i}`));
    const first = cycle(tasks, agents, profileFor('PowerOfTwoChoices'), 42);
    expect(placed(cycle(tasks, agents, profileFor('PowerOfTwoChoices'), 42))).toEqual(placed(first));
    const perAgent = new Map<string, number>();
    for (const a of first.assignments) perAgent.set(a.agent.name, (perAgent.get(a.agent.name) ?? 0) + 1);
    expect(Math.max(...perAgent.values())).toBeLessThanOrEqual(3);
  });

  it('routes a task listed twice once', () => {
    const r = cycle([task('t'), task('t')], [agent('a', { maxConcurrentTasks: 2 })]);
    expect(placed(r)).toEqual(['t->a']);
    expect(r.pending).toEqual([]);
  });
});

describe('runCycle: queue order', () => {
  it('serves higher priority, then older, then by key', () => {
    const tasks = [
      task('late', { queuedAt: NOW - 1_000 }),
      task('urgent', { priority: 500 }),
      task('b-early', { queuedAt: NOW - 5_000 }),
      task('a-early', { queuedAt: NOW - 5_000 }),
    ];
    const r = cycle(tasks, [agent('a', { maxConcurrentTasks: 3 })]);
    expect(placed(r)).toEqual(['urgent->a', 'a-early->a', 'b-early->a']);
    expect(r.pending.map((p) => p.task.name)).toEqual(['late']);
  });

  it('tasks of a namespace that stay pending do not hold other namespaces up', () => {
    const tasks = [
      task('stuck1', { namespace: 'x', required: ['gpu'] }),
      task('stuck2', { namespace: 'x', required: ['gpu'] }),
      task('ok', { namespace: 'y' }),
    ];
    const agents = [agent('a', { namespace: 'x' }), agent('a', { namespace: 'y' })];
    const r = cycle(tasks, agents);
    expect(placed(r)).toEqual(['ok->a']);
    expect(r.pending.map((p) => p.task.name).sort()).toEqual(['stuck1', 'stuck2']);
  });
});
