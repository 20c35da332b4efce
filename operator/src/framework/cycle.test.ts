import { describe, expect, it } from 'vitest';
import { runCycle, type Profile } from './cycle.ts';
import { createCycleLedger, seededRandom } from './cycle-state.ts';
import { buildProfile } from './profile.ts';
import { agent, NOW, task } from './routing-fixtures.ts';
import type { AgentInfo, CycleResult, RoutingPlugin, Snapshot, TaskInfo } from './types.ts';

function profileFor(strategy: 'Balanced' | 'LeastLoaded' | 'RoundRobin' | 'PowerOfTwoChoices' | 'BinPack' = 'Balanced'): Profile {
  const built = buildProfile({ strategy }, undefined);
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
      message: '0/12 agents can run it: 7 lack capability gpu, 5 at capacity',
      wake: [],
    });
  });

  it('orders equal counts alphabetically', () => {
    const agents = [agent('a', { ready: false }), agent('b', { circuit: 'open' }), agent('c', { leaving: true })];
    expect(cycle([task('t')], agents).pending[0]?.message).toBe(
      '0/3 agents can run it: 1 circuit open, 1 draining or being deleted, 1 not ready',
    );
  });

  it('says so when the namespace has no agents, and never looks at other namespaces', () => {
    const r = cycle([task('t', { namespace: 'empty' })], [agent('a', { namespace: 'other' })]);
    expect(r.pending[0]).toMatchObject({ total: 0, reasons: {}, message: 'no agents in namespace empty', wake: [] });
  });

  it('lists sleeping agents that could run it once woken, and only those', () => {
    const agents = [
      agent('gpu-asleep', { capabilities: ['gpu'], sleeping: true, ready: false }),
      agent('ts-asleep', { capabilities: ['ts'], sleeping: true, ready: false }),
      agent('gpu-asleep-leaving', { capabilities: ['gpu'], sleeping: true, leaving: true }),
      agent('gpu-asleep-broken', { capabilities: ['gpu'], sleeping: true, circuit: 'open' }),
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
    expect(r.pending.map((p) => p.message)).toEqual(['0/1 agents can run it: 1 at capacity']);
  });

  it('lets one trial through a half-open circuit per cycle', () => {
    const r = cycle([task('t1'), task('t2')], [agent('a', { circuit: 'half-open', maxConcurrentTasks: 5 })]);
    expect(placed(r)).toEqual(['t1->a']);
    expect(r.pending[0]?.reasons).toEqual({ 'circuit half-open, trial running': 1 });
  });

  it('prefers the agent holding the context, then the one with preferred capabilities', () => {
    const agents = [agent('plain'), agent('pref', { capabilities: ['ts'] }), agent('ctx', { contextKeys: ['conv-1'] })];
    expect(placed(cycle([task('t', { preferred: ['ts'], affinity: { contextKey: 'conv-1' } })], agents))).toEqual(['t->ctx']);
    expect(placed(cycle([task('t', { preferred: ['ts'] })], agents))).toEqual(['t->pref']);
  });

  it('breaks score ties by lower load, then lower key, whatever the snapshot order', () => {
    const only: Profile = { queueSort: { name: 'none' }, filters: [], scorers: [], fairShare: false };
    expect(placed(cycle([task('t')], [agent('b'), agent('c', { active: 1, maxConcurrentTasks: 5 }), agent('a')], only))).toEqual(['t->a']);
    expect(placed(cycle([task('t')], [agent('b'), agent('a', { active: 2, maxConcurrentTasks: 5 })], only))).toEqual(['t->b']);
  });

  it('spreads with LeastLoaded and packs with BinPack', () => {
    const agents = [agent('a', { maxConcurrentTasks: 2 }), agent('b', { maxConcurrentTasks: 2 })];
    expect(placed(cycle([task('t1'), task('t2')], agents, profileFor('LeastLoaded')))).toEqual(['t1->a', 't2->b']);
    expect(placed(cycle([task('t1'), task('t2')], agents, profileFor('BinPack')))).toEqual(['t1->a', 't2->a']);
  });

  it('rotates with RoundRobin, starting from the agent idle longest', () => {
    const agents = [agent('a', { lastAssignedAt: NOW - 10 }), agent('b', { lastAssignedAt: NOW - 30 }), agent('c', { lastAssignedAt: NOW - 20 })].map(
      (a) => ({ ...a, maxConcurrentTasks: 3 }),
    );
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

  it('keeps a plugin’s out-of-range score from outweighing the others', () => {
    const wild: RoutingPlugin = { name: 'wild', score: (_t, a) => (a.name === 'a' ? 1e9 : Number.NaN) };
    const fair: RoutingPlugin = { name: 'fair', score: (_t, a) => (a.name === 'b' ? 100 : 0) };
    const p: Profile = { queueSort: { name: 'none' }, filters: [], scorers: [{ plugin: wild, weight: 1 }, { plugin: fair, weight: 2 }], fairShare: false };
    expect(placed(cycle([task('t')], [agent('a'), agent('b')], p))).toEqual(['t->b']);
  });

  it('calls reservers once per assignment, after the load is counted', () => {
    const seen: string[] = [];
    const recorder: RoutingPlugin = { name: 'rec', reserve: (t, a, s) => seen.push(`${t.name}->${a.name}@${s.load(a)}`) };
    const p: Profile = { ...profileFor(), reservers: [recorder] };
    cycle([task('t1'), task('t2')], [agent('a', { maxConcurrentTasks: 2 })], p);
    expect(seen).toEqual(['t1->a@1', 't2->a@2']);
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

  it('with fair share, namespaces take turns; without, the busy one goes first', () => {
    const tasks = [
      ...['b1', 'b2', 'b3'].map((n, i) => task(n, { namespace: 'busy', priority: 900, queuedAt: NOW - 10 + i })),
      task('q1', { namespace: 'quiet' }),
      task('q2', { namespace: 'quiet', queuedAt: NOW + 1 }),
    ];
    const agents = [agent('a', { namespace: 'busy', maxConcurrentTasks: 3 }), agent('a', { namespace: 'quiet', maxConcurrentTasks: 3 })];
    const order = (fairShare: boolean): string[] => cycle(tasks, agents, { ...profileFor(), fairShare }).assignments.map((a) => a.task.name);
    expect(order(true)).toEqual(['b1', 'q1', 'b2', 'q2', 'b3']);
    expect(order(false)).toEqual(['b1', 'b2', 'b3', 'q1', 'q2']);
  });

  it('with fair share, a namespace whose tasks stay pending does not hold the others up', () => {
    const tasks = [task('stuck1', { namespace: 'x', required: ['gpu'] }), task('stuck2', { namespace: 'x', required: ['gpu'] }), task('ok', { namespace: 'y' })];
    const agents = [agent('a', { namespace: 'x' }), agent('a', { namespace: 'y' })];
    const r = cycle(tasks, agents);
    expect(placed(r)).toEqual(['ok->a']);
    expect(r.pending.map((p) => p.task.name).sort()).toEqual(['stuck1', 'stuck2']);
  });
});

describe('cycle state', () => {
  it('reserve and unreserve are exact inverses, idempotent per task and agent', () => {
    const s = createCycleLedger(NOW, 1);
    const a = agent('a', { active: 2, maxConcurrentTasks: 5 });
    expect(s.reserve(task('t'), a)).toBe(true);
    expect(s.reserve(task('t'), a)).toBe(false);
    expect(s.reserve(task('u', { namespace: 'other' }), a)).toBe(true);
    expect([s.load(a), s.assignedThisCycle(a), s.assignedToNamespace('ns'), s.assignedToNamespace('other')]).toEqual([4, 2, 1, 1]);
    expect(s.unreserve(task('t'), a)).toBe(true);
    expect(s.unreserve(task('t'), a)).toBe(false);
    expect(s.unreserve(task('never'), a)).toBe(false);
    expect([s.load(a), s.assignedThisCycle(a), s.assignedToNamespace('ns'), s.assignedToNamespace('other')]).toEqual([3, 1, 0, 1]);
  });

  it('draws the same numbers in [0, 1) for the same seed', () => {
    const draw = (seed: number): number[] => {
      const r = seededRandom(seed);
      return Array.from({ length: 1000 }, () => r());
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
    expect(draw(3).every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = draw(5).reduce((s, x) => s + x, 0) / 1000;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});
