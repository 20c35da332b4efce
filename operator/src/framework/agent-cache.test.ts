import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentCache, type AgentFacts, type Holding } from './agent-cache.ts';
import type { AgentInfo } from './types.ts';

// The cache is updated one event at a time; these tests check it against the answer
// worked out from scratch from everything it was told, which is what the router did
// before for every cycle.

const NAMESPACES = ['x', 'y'];
const NAMES = ['a', 'b', 'c', 'd'];
const CAPS = ['gpu', 'ts', 'py'];
const TASKS = ['t1', 't2', 't3', 't4', 't5', 't6'];
const CONTEXTS = ['k1', 'k2'];

function facts(namespace: string, name: string, f: { capabilities: string[]; ready: boolean; max: number; circuit: boolean }): AgentFacts {
  return {
    key: `${namespace}/${name}`,
    namespace,
    name,
    capabilities: new Set(f.capabilities),
    maxConcurrentTasks: f.max,
    ready: f.ready,
    sleeping: false,
    leaving: false,
    conditions: f.circuit ? { CircuitOpen: { status: 'True', reason: 'TooManyFailures' } } : {},
  };
}

const agentKey = fc.record({ namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...NAMES) });
type Op =
  | { op: 'agent'; namespace: string; name: string; facts?: AgentFacts }
  | { op: 'holding'; task: string; holding?: Holding }
  | { op: 'assume'; task: string; agent: string }
  | { op: 'forget'; task: string }
  | { op: 'read'; namespace: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc
    .tuple(
      agentKey,
      fc.option(
        fc.record({ capabilities: fc.subarray(CAPS), ready: fc.boolean(), max: fc.integer({ min: 1, max: 3 }), circuit: fc.boolean() }),
        { nil: undefined },
      ),
    )
    .map(([{ namespace, name }, f]) => ({ op: 'agent' as const, namespace, name, ...(f ? { facts: facts(namespace, name, f) } : {}) })),
  fc
    .tuple(
      fc.constantFrom(...TASKS),
      fc.option(
        fc.record({
          agent: agentKey.map(({ namespace, name }) => `${namespace}/${name}`),
          active: fc.boolean(),
          assignedAt: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
          contextKey: fc.option(fc.constantFrom(...CONTEXTS), { nil: undefined }),
        }),
        { nil: undefined },
      ),
    )
    .map(([task, holding]) => ({ op: 'holding' as const, task, ...(holding ? { holding } : {}) })),
  fc
    .tuple(fc.constantFrom(...TASKS), agentKey)
    .map(([task, { namespace, name }]) => ({ op: 'assume' as const, task, agent: `${namespace}/${name}` })),
  fc.constantFrom(...TASKS).map((task) => ({ op: 'forget' as const, task })),
  fc.constantFrom(...NAMESPACES).map((namespace) => ({ op: 'read' as const, namespace })),
);

/** Everything the cache was told, and the answer from scratch. */
class Reference {
  readonly agents = new Map<string, AgentFacts>();
  readonly holdings = new Map<string, Holding>();
  readonly assumptions = new Map<string, string>();
  readonly lastAssigned = new Map<string, number>();

  apply(o: Op): void {
    if (o.op === 'agent') {
      if (o.facts) this.agents.set(`${o.namespace}/${o.name}`, o.facts);
      else this.agents.delete(`${o.namespace}/${o.name}`);
    } else if (o.op === 'holding') {
      const same = (a: Holding | undefined, b: Holding | undefined): boolean =>
        a === b ||
        (!!a && !!b && a.agent === b.agent && a.active === b.active && a.assignedAt === b.assignedAt && a.contextKey === b.contextKey);
      if (!same(this.holdings.get(o.task), o.holding) && o.holding?.assignedAt !== undefined) {
        this.lastAssigned.set(o.holding.agent, Math.max(this.lastAssigned.get(o.holding.agent) ?? -1, o.holding.assignedAt));
      }
      if (o.holding) this.holdings.set(o.task, o.holding);
      else this.holdings.delete(o.task);
    } else if (o.op === 'assume') this.assumptions.set(o.task, o.agent);
    else if (o.op === 'forget') this.assumptions.delete(o.task);
    // An agent nobody knows and no task names leaves no trace, its last assignment included.
    for (const key of this.lastAssigned.keys()) {
      const named = [...this.holdings.values()].some((h) => h.agent === key) || [...this.assumptions.values()].includes(key);
      if (!this.agents.has(key) && !named) this.lastAssigned.delete(key);
    }
  }

  index(
    namespace: string,
  ): { key: string; active: number; contextKeys: string[]; lastAssignedAt?: number; ready: boolean; capabilities: string[] }[] {
    return [...this.agents.values()]
      .filter((a) => a.namespace === namespace)
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .map((a) => {
        const held = [...this.holdings.values()].filter((h) => h.agent === a.key);
        const active = held.filter((h) => h.active).length + [...this.assumptions.values()].filter((k) => k === a.key).length;
        const contextKeys = [...new Set(held.flatMap((h) => (h.contextKey ? [h.contextKey] : [])))].sort();
        const last = this.lastAssigned.get(a.key);
        return {
          key: a.key,
          active,
          contextKeys,
          ...(last !== undefined ? { lastAssignedAt: last } : {}),
          ready: a.ready,
          capabilities: [...a.capabilities].sort(),
        };
      });
  }
}

const view = (agents: readonly AgentInfo[]): ReturnType<Reference['index']> =>
  agents.map((a) => ({
    key: a.key,
    active: a.active,
    contextKeys: [...a.contextKeys].sort(),
    ...(a.lastAssignedAt !== undefined ? { lastAssignedAt: a.lastAssignedAt } : {}),
    ready: a.ready,
    capabilities: [...a.capabilities].sort(),
  }));

describe('AgentCache', () => {
  it('answers what a rebuild from scratch would, after any sequence of events', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const cache = new AgentCache();
        const ref = new Reference();
        for (const o of ops) {
          // Assumptions count only while a task has one: the router forgets before it assumes again.
          if (o.op === 'agent') cache.setAgent(`${o.namespace}/${o.name}`, o.facts);
          else if (o.op === 'holding') cache.setHolding(o.task, o.holding);
          else if (o.op === 'assume') cache.assume(o.task, o.agent);
          else if (o.op === 'forget') cache.forget(o.task);
          else expect(view(cache.index(o.namespace).all)).toEqual(ref.index(o.namespace));
          ref.apply(o);
        }
        for (const ns of NAMESPACES) {
          const index = cache.index(ns);
          const expected = ref.index(ns);
          expect(view(index.all)).toEqual(expected);
          for (const c of CAPS) expect(view(index.withCapability(c))).toEqual(expected.filter((a) => a.capabilities.includes(c)));
          for (const k of CONTEXTS) expect(view(index.withContextKey(k))).toEqual(expected.filter((a) => a.contextKeys.includes(k)));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never changes a list a cycle already holds', () => {
    const cache = new AgentCache();
    cache.setAgent('x/a', facts('x', 'a', { capabilities: ['gpu'], ready: true, max: 2, circuit: false }));
    const before = cache.index('x');
    const all = before.all;
    const gpu = before.withCapability('gpu');
    cache.setHolding('t1', { agent: 'x/a', active: true });
    const after = cache.index('x');
    expect(all[0]?.active).toBe(0);
    expect(gpu[0]?.active).toBe(0);
    expect(after.all[0]?.active).toBe(1);
    expect(after.withCapability('gpu')[0]?.active).toBe(1);
    // And again in the next round of changes.
    const held = after.all;
    cache.setHolding('t2', { agent: 'x/a', active: true });
    expect(cache.index('x').all[0]?.active).toBe(2);
    expect(held[0]?.active).toBe(1);
  });

  it('says when routing could answer differently, and which agent a slot came free on', () => {
    const cache = new AgentCache();
    const a = facts('x', 'a', { capabilities: ['gpu'], ready: true, max: 2, circuit: false });
    expect(cache.setAgent('x/a', a)).toBe(true);
    expect(cache.setAgent('x/a', { ...a, conditions: {} })).toBe(false);
    expect(cache.setAgent('x/a', { ...a, ready: false })).toBe(true);
    expect(cache.setAgent('x/a', { ...a, ready: false, capabilities: new Set(['ts']) })).toBe(true);
    expect(cache.setAgent('x/a', undefined)).toBe(true);
    expect(cache.setAgent('x/a', undefined)).toBe(false);

    expect(cache.setHolding('t1', { agent: 'x/a', active: true })).toBeUndefined();
    expect(cache.setHolding('t1', { agent: 'x/a', active: true })).toBeUndefined();
    expect(cache.setHolding('t1', { agent: 'x/a', active: false })).toBe('x/a');
    expect(cache.setHolding('t2', { agent: 'x/a', active: true })).toBeUndefined();
    expect(cache.setHolding('t2', { agent: 'x/b', active: true })).toBe('x/a');
    expect(cache.setHolding('t2', undefined)).toBe('x/b');
  });
});
