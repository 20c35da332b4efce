import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { routingStrategies } from './api/policy.ts';
import { builtinRegistry } from './builtin-registry.ts';
import { runCycle, type Profile } from './framework/cycle.ts';
import { agent, NOW, task } from './framework/testing.ts';
import type { AgentInfo, CycleResult, Snapshot, TaskInfo } from './framework/types.ts';

type RoutingStrategy = (typeof routingStrategies)[number];
const registry = builtinRegistry();

// The checks below restate the rules from scratch rather than calling the plugins, so a
// plugin bug shows up as a property failure instead of agreeing with itself.

const CAPS = ['gpu', 'ts', 'py', 'review'];
const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const NAMESPACES = ['x', 'y', 'z'];
const CONTEXTS = ['c1', 'c2', 'c3'];
const mostly = fc.integer({ min: 0, max: 3 }).map((n) => n > 0);
const rarely = fc.integer({ min: 0, max: 3 }).map((n) => n === 0);

const agentArb: fc.Arbitrary<AgentInfo> = fc
  .record({
    namespace: fc.constantFrom('x', 'y'),
    name: fc.constantFrom(...NAMES),
    capabilities: fc.subarray(CAPS),
    maxConcurrentTasks: fc.integer({ min: 1, max: 4 }),
    active: fc.integer({ min: 0, max: 5 }),
    ready: mostly,
    sleeping: rarely,
    leaving: rarely,
    circuit: fc.constantFrom('closed', 'closed', 'closed', 'open', 'half-open'),
    contextKeys: fc.subarray(CONTEXTS),
    lastAssignedAt: fc.option(fc.integer({ min: NOW - 600_000, max: NOW }), { nil: undefined }),
  })
  .map(({ name, lastAssignedAt, circuit, ...f }) => {
    const conditions =
      circuit === 'closed' ? {} : { CircuitOpen: { status: 'True', reason: circuit === 'open' ? 'TooManyFailures' : 'HalfOpen' } };
    return agent(name, lastAssignedAt === undefined ? { ...f, conditions } : { ...f, conditions, lastAssignedAt });
  });

const circuitOf = (a: AgentInfo): string => {
  const c = a.conditions.CircuitOpen;
  return c?.status !== 'True' ? 'closed' : c.reason === 'HalfOpen' ? 'half-open' : 'open';
};

const affinityArb = fc.option(
  fc.oneof(
    fc.record({ agent: fc.constantFrom(...NAMES) }),
    fc.record({ contextKey: fc.constantFrom(...CONTEXTS) }),
    fc.record({ agent: fc.constantFrom(...NAMES), contextKey: fc.constantFrom(...CONTEXTS) }),
  ),
  { nil: undefined, freq: 2 },
);

const taskArb: fc.Arbitrary<TaskInfo> = fc
  .record({
    namespace: fc.constantFrom(...NAMESPACES),
    name: fc.constantFrom(...Array.from({ length: 20 }, (_, i) => `t${i}`)),
    required: fc.subarray(CAPS, { maxLength: 2 }),
    preferred: fc.subarray(CAPS, { maxLength: 2 }),
    priority: fc.oneof(fc.constantFrom(0, 100, 1000), fc.integer({ min: 0, max: 1000 })),
    queuedAt: fc.integer({ min: NOW - 300_000, max: NOW }),
    affinity: affinityArb,
  })
  .map(({ name, affinity, ...f }) => task(name, affinity === undefined ? f : { ...f, affinity }));

const snapshotArb: fc.Arbitrary<Snapshot> = fc.record({
  now: fc.constant(NOW),
  tasks: fc.uniqueArray(taskArb, { selector: (t) => t.key, maxLength: 16 }),
  agents: fc.uniqueArray(agentArb, { selector: (a) => a.key, maxLength: 10 }),
  seed: fc.integer(),
});

const strategyArb = fc.constantFrom(...routingStrategies);
// How many feasible agents a cycle looks for: small limits make it sample (look at a
// window of agents from a rotating start) on these small fleets; 0 looks at all.
const limitArb = fc.constantFrom(0, 1, 2, 3, 100);

function profileFor(strategy: RoutingStrategy): Profile {
  const built = registry.build({ strategy }, undefined);
  if (built.profile === undefined) throw new Error(built.errors.join('; '));
  return built.profile;
}

/** Could `a` take `t` with `load` tasks (a half-open circuit counts the ones given in this cycle too)? */
function eligible(t: TaskInfo, a: AgentInfo, load: number, _given: number): boolean {
  return (
    a.namespace === t.namespace &&
    !a.leaving &&
    !a.sleeping &&
    a.ready &&
    circuitOf(a) !== 'open' &&
    !(circuitOf(a) === 'half-open' && load > 0) &&
    load < a.maxConcurrentTasks &&
    t.required.every((c) => a.capabilities.has(c)) &&
    (t.affinity?.agent === undefined || t.affinity.agent === a.name)
  );
}

/** Replays the assignments, checking each against the rules; returns the loads at the end. */
function replay(snapshot: Snapshot, result: CycleResult): { load: Map<string, number>; given: Map<string, number> } {
  const byKey = new Map(snapshot.agents.map((a) => [a.key, a]));
  const load = new Map(snapshot.agents.map((a) => [a.key, a.active]));
  const given = new Map<string, number>();
  for (const { task: t, agent: chosen } of result.assignments) {
    const a = byKey.get(chosen.key);
    expect(a, `assigned to an agent not in the snapshot: ${chosen.key}`).toBeDefined();
    if (a === undefined) continue;
    const before = load.get(a.key) ?? 0;
    expect(eligible(t, a, before, given.get(a.key) ?? 0), `${t.key} -> ${a.key} breaks a rule`).toBe(true);
    load.set(a.key, before + 1);
    given.set(a.key, (given.get(a.key) ?? 0) + 1);
  }
  return { load, given };
}

describe('built-in routing: properties over random fleets and queues', () => {
  it('only assigns agents that pass every filter, within capacity, namespace and pin', () => {
    fc.assert(
      fc.property(snapshotArb, strategyArb, limitArb, (snapshot, strategy, feasibleAgentsToFind) => {
        replay(snapshot, runCycle(snapshot, profileFor(strategy), { feasibleAgentsToFind }));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves a task pending only when no agent could take it, even at the end of the cycle', () => {
    fc.assert(
      fc.property(snapshotArb, strategyArb, limitArb, (snapshot, strategy, feasibleAgentsToFind) => {
        const result = runCycle(snapshot, profileFor(strategy), { feasibleAgentsToFind });
        const { load, given } = replay(snapshot, result);
        for (const { task: t } of result.pending) {
          const fits = snapshot.agents.filter((a) => eligible(t, a, load.get(a.key) ?? 0, given.get(a.key) ?? 0));
          expect(fits.map((a) => a.key)).toEqual([]);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('puts every task in the result exactly once, assigned or pending', () => {
    fc.assert(
      fc.property(snapshotArb, strategyArb, limitArb, (snapshot, strategy, feasibleAgentsToFind) => {
        const result = runCycle(snapshot, profileFor(strategy), { feasibleAgentsToFind });
        const seen = [...result.assignments.map((a) => a.task.key), ...result.pending.map((p) => p.task.key)].sort();
        expect(seen).toEqual(snapshot.tasks.map((t) => t.key).sort());
      }),
    );
  });

  it('gives pending reasons that add up to the agents in the task’s namespace, and wakes only agents that would fit', () => {
    fc.assert(
      fc.property(snapshotArb, strategyArb, limitArb, (snapshot, strategy, feasibleAgentsToFind) => {
        const result = runCycle(snapshot, profileFor(strategy), { feasibleAgentsToFind });
        const { load, given } = replay(snapshot, result);
        for (const p of result.pending) {
          const inNamespace = snapshot.agents.filter((a) => a.namespace === p.task.namespace);
          expect(p.total).toBe(inNamespace.length);
          expect(Object.values(p.reasons).reduce((s, n) => s + n, 0)).toBe(p.total);
          if (p.total === 0) {
            const pin = p.task.affinity?.agent;
            expect(p.message).toBe(`no agents in namespace ${p.task.namespace}${pin ? ` (it is pinned to agent ${pin})` : ''}`);
          } else expect(p.message).toMatch(new RegExp(`^0/${p.total} agents can run it: \\d+ [a-z].* \\([a-z-]+\\)`));
          for (const key of p.wake) {
            const a = inNamespace.find((x) => x.key === key);
            expect(a?.sleeping).toBe(true);
            if (a) expect(eligible(p.task, { ...a, sleeping: false, ready: true }, load.get(key) ?? 0, given.get(key) ?? 0)).toBe(true);
          }
        }
      }),
    );
  });

  it('is deterministic for a snapshot and seed, whatever order the snapshot lists things in', () => {
    const summary = (r: CycleResult): unknown => ({
      assigned: r.assignments.map((a) => [a.task.key, a.agent.key]),
      pending: r.pending.map((p) => [p.task.key, p.message, p.wake]),
    });
    fc.assert(
      fc.property(snapshotArb, strategyArb, fc.nat(), limitArb, (snapshot, strategy, rotate, feasibleAgentsToFind) => {
        const first = summary(runCycle(snapshot, profileFor(strategy), { feasibleAgentsToFind }));
        expect(summary(runCycle(snapshot, profileFor(strategy), { feasibleAgentsToFind }))).toEqual(first);
        const turn = <T>(xs: readonly T[]): T[] => {
          const k = xs.length === 0 ? 0 : rotate % xs.length;
          return [...xs.slice(k), ...xs.slice(0, k)].reverse();
        };
        const reordered = { ...snapshot, tasks: turn(snapshot.tasks), agents: turn(snapshot.agents) };
        expect(summary(runCycle(reordered, profileFor(strategy), { feasibleAgentsToFind }))).toEqual(first);
      }),
    );
  });
});

describe('built-in routing: queue order within a namespace', () => {
  /** Effective priority as the API documents it: +1 per 10 s waited, at most 1000. */
  const effective = (t: TaskInfo): number => Math.min(1000, t.priority + Math.floor((NOW - t.queuedAt) / 10_000));
  const expectedOrder = (a: TaskInfo, b: TaskInfo): number =>
    effective(b) - effective(a) || a.queuedAt - b.queuedAt || (a.key < b.key ? -1 : 1);

  const healthy = (n: number, capacity: number): AgentInfo[] =>
    NAMES.slice(0, n).map((name) => agent(name, { namespace: 'x', maxConcurrentTasks: capacity }));

  it('serves higher effective priority first, first in first out among equals', () => {
    const simpleTask = fc
      .record({
        name: fc.constantFrom(...Array.from({ length: 30 }, (_, i) => `t${i}`)),
        priority: fc.constantFrom(0, 100, 101, 500, 999, 1000),
        queuedAt: fc.integer({ min: NOW - 200_000, max: NOW }),
      })
      .map(({ name, ...f }) => task(name, { namespace: 'x', ...f }));
    fc.assert(
      fc.property(
        fc.uniqueArray(simpleTask, { selector: (t) => t.key, maxLength: 20 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        strategyArb,
        (tasks, agents, capacity, strategy) => {
          const result = runCycle({ now: NOW, tasks, agents: healthy(agents, capacity), seed: 1 }, profileFor(strategy));
          const order = [...tasks].sort(expectedOrder).map((t) => t.key);
          expect(result.assignments.map((a) => a.task.key)).toEqual(order.slice(0, agents * capacity));
        },
      ),
    );
  });

  it('with equal priorities and queue times in arrival order, is first in, first out', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 6 }), strategyArb, (n, slots, strategy) => {
        // Names that sort against arrival, so only queuedAt can give the expected order.
        const tasks = Array.from({ length: n }, (_, i) => task(`t${String(99 - i)}`, { namespace: 'x', queuedAt: NOW - 1_000 + i }));
        const result = runCycle({ now: NOW, tasks, agents: healthy(1, slots), seed: 3 }, profileFor(strategy));
        expect(result.assignments.map((a) => a.task.name)).toEqual(tasks.slice(0, slots).map((t) => t.name));
      }),
    );
  });

  it('with LeastLoaded, spreads N·k tasks over N identical idle agents k each', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), (n, k, spare) => {
        const tasks = Array.from({ length: n * k }, (_, i) => task(`t${i}`, { namespace: 'x' }));
        const result = runCycle({ now: NOW, tasks, agents: healthy(n, Math.min(4, k + spare)), seed: 9 }, profileFor('LeastLoaded'));
        const perAgent = new Map<string, number>();
        for (const a of result.assignments) perAgent.set(a.agent.key, (perAgent.get(a.agent.key) ?? 0) + 1);
        expect([...perAgent.values()]).toEqual(Array.from({ length: n }, () => k));
      }),
    );
  });
});
