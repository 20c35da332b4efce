import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateDependencies, topologicalOrder, type DependencyVerdict, type TaskNode } from './workflow.ts';

type Spec = Record<string, { deps?: string[]; phase?: string; terminal?: boolean }>;

function graph(spec: Spec): Map<string, TaskNode> {
  return new Map(
    Object.entries(spec).map(([name, t]) => [name, { name, dependsOn: t.deps ?? [], phase: t.phase, terminal: t.terminal ?? false }]),
  );
}

function evaluate(spec: Spec, name: string): DependencyVerdict {
  const all = graph(spec);
  const task = all.get(name);
  if (!task) throw new Error(`no task ${name} in the spec`);
  return evaluateDependencies(task, all);
}

const done = { phase: 'Succeeded' };
const running = { phase: 'Running' };
const gaveUp = { phase: 'Failed', terminal: true };

describe('evaluateDependencies: every state', () => {
  it.each([
    ['no dependencies', { t: {} }, { state: 'ready' }],
    ['every dependency succeeded', { t: { deps: ['a', 'b'] }, a: done, b: done }, { state: 'ready' }],
    [
      'a dependency runs',
      { t: { deps: ['build-image'] }, 'build-image': running },
      { state: 'waiting', reason: 'DependenciesPending', message: 'waiting for dependency build-image to succeed', names: ['build-image'] },
    ],
    ['a dependency has no status yet', { t: { deps: ['a'] }, a: {} }, { state: 'waiting', reason: 'DependenciesPending', names: ['a'] }],
    [
      'a dependency failed but will retry',
      { t: { deps: ['a'] }, a: { phase: 'Failed' } },
      { state: 'waiting', reason: 'DependenciesPending', names: ['a'] },
    ],
    [
      'a dependency does not exist',
      { t: { deps: ['build-image'] } },
      { state: 'waiting', reason: 'DependencyMissing', message: 'dependency build-image does not exist yet', names: ['build-image'] },
    ],
    [
      'two dependencies do not exist',
      { t: { deps: ['b', 'a'] } },
      { state: 'waiting', reason: 'DependencyMissing', message: 'dependencies a, b do not exist yet', names: ['a', 'b'] },
    ],
    [
      'a dependency failed for good',
      { t: { deps: ['build-image', 'lint'] }, 'build-image': gaveUp, lint: done },
      { state: 'failed', reason: 'DependencyFailed', message: 'dependency build-image failed', names: ['build-image'] },
    ],
    [
      'a dependency was cancelled',
      { t: { deps: ['a'] }, a: { phase: 'Cancelled', terminal: true } },
      { state: 'failed', reason: 'DependencyFailed', message: 'dependency a was cancelled', names: ['a'] },
    ],
    [
      'one failed, one cancelled',
      { t: { deps: ['b', 'a'] }, a: gaveUp, b: { phase: 'Cancelled', terminal: true } },
      { state: 'failed', message: 'dependencies a, b failed or were cancelled', names: ['a', 'b'] },
    ],
    [
      'a failure further up waits for the dependency to fail too',
      { t: { deps: ['a'] }, a: { deps: ['b'], phase: 'Blocked' }, b: gaveUp },
      { state: 'waiting', reason: 'DependenciesPending', names: ['a'] },
    ],
    [
      'it depends on itself',
      { t: { deps: ['t'] } },
      { state: 'cycle', reason: 'DependencyCycle', message: 'dependency cycle: t → t', cycle: ['t'] },
    ],
    [
      'it is on a cycle',
      { t: { deps: ['b'] }, b: { deps: ['c'] }, c: { deps: ['t'] } },
      { state: 'cycle', reason: 'DependencyCycle', message: 'dependency cycle: t → b → c → t', cycle: ['t', 'b', 'c'] },
    ],
    [
      'its dependencies lead into a cycle',
      { t: { deps: ['a'] }, a: { deps: ['x'] }, x: { deps: ['y'] }, y: { deps: ['x'] } },
      { state: 'cycle', message: 'dependency cycle: x → y → x', cycle: ['x', 'y'] },
    ],
    ['a cycle it does not reach', { t: { deps: ['a'] }, a: done, x: { deps: ['y'] }, y: { deps: ['x'] } }, { state: 'ready' }],
    [
      'a diamond is no cycle',
      { t: { deps: ['a', 'b'] }, a: { deps: ['c'], ...done }, b: { deps: ['c'], ...done }, c: done },
      { state: 'ready' },
    ],
    // Precedence: cycle, then failed, then missing, then pending.
    ['a cycle and a failure', { t: { deps: ['a', 'b'] }, a: { deps: ['t'] }, b: gaveUp }, { state: 'cycle', cycle: ['t', 'a'] }],
    ['a failure and a missing one', { t: { deps: ['a', 'b'] }, a: gaveUp }, { state: 'failed', names: ['a'] }],
    [
      'a missing one and a pending one',
      { t: { deps: ['a', 'b'] }, a: running },
      { state: 'waiting', reason: 'DependencyMissing', names: ['b'] },
    ],
  ] as [string, Spec, Partial<DependencyVerdict>][])('%s', (_situation, spec, expected) => {
    expect(evaluate(spec, 't')).toMatchObject(expected);
  });

  it('lists names sorted and caps the message at five', () => {
    const deps = ['g', 'b', 'f', 'a', 'e', 'c', 'd'];
    expect(evaluate({ t: { deps } }, 't')).toEqual({
      state: 'waiting',
      reason: 'DependencyMissing',
      message: 'dependencies a, b, c, d, e … and 2 more do not exist yet',
      names: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
    });
  });

  it('caps a long cycle in the message but reports all of it', () => {
    const names = ['t', 'a', 'b', 'c', 'd', 'e', 'f'];
    const spec = Object.fromEntries(names.map((n, i) => [n, { deps: [names[(i + 1) % names.length] ?? ''] }]));
    expect(evaluate(spec, 't')).toEqual({
      state: 'cycle',
      reason: 'DependencyCycle',
      message: 'dependency cycle: t → a → b → c → d → … (2 more) → t',
      cycle: names,
    });
  });

  it('trusts the task given over its copy in the map', () => {
    const all = graph({ t: { deps: ['a'] }, a: done });
    expect(evaluateDependencies({ name: 't', dependsOn: ['t'], phase: undefined, terminal: false }, all)).toMatchObject({ state: 'cycle' });
  });
});

describe('topologicalOrder', () => {
  it('puts dependencies first, ignores ones outside the list, and finds cycles', () => {
    expect(topologicalOrder([...graph({ c: { deps: ['b', 'outside'] }, b: { deps: ['a'] }, a: {} }).values()])).toEqual(['a', 'b', 'c']);
    expect(topologicalOrder([...graph({ a: { deps: ['b'] }, b: { deps: ['a'] }, c: {} }).values()])).toBeUndefined();
    expect(topologicalOrder([])).toEqual([]);
  });
});

const phases = [undefined, 'Pending', 'Blocked', 'Assigned', 'Running', 'Succeeded', 'Failed', 'Cancelled'];

// A random DAG: task i may depend only on tasks with a lower index.
const dag = fc.integer({ min: 1, max: 15 }).chain((n) =>
  fc
    .tuple(
      ...Array.from({ length: n }, (_, i) =>
        fc.record({
          deps: fc.subarray(Array.from({ length: i }, (_, j) => `t${j}`)),
          phase: fc.constantFrom(...phases),
          terminal: fc.boolean(),
        }),
      ),
    )
    .map((specs): TaskNode[] => specs.map((s, i) => ({ name: `t${i}`, dependsOn: s.deps, phase: s.phase, terminal: s.terminal }))),
);

const byName = (nodes: readonly TaskNode[]): Map<string, TaskNode> => new Map(nodes.map((n) => [n.name, n]));

describe('workflow properties', () => {
  it('finds no cycle in a DAG, and orders every dependency before its dependents', () => {
    fc.assert(
      fc.property(
        dag.chain((nodes) => fc.shuffledSubarray(nodes, { minLength: nodes.length })),
        (nodes) => {
          const all = byName(nodes);
          for (const node of nodes) expect(evaluateDependencies(node, all).state).not.toBe('cycle');
          const order = topologicalOrder(nodes);
          expect(order?.length).toBe(nodes.length);
          const position = new Map(order?.map((name, i) => [name, i]));
          for (const node of nodes) {
            for (const dep of node.dependsOn) expect(position.get(dep)).toBeLessThan(position.get(node.name) ?? -1);
          }
        },
      ),
    );
  });

  it('reports a cycle for every task on a back edge’s loop', () => {
    fc.assert(
      fc.property(dag, fc.nat(), fc.array(fc.nat(), { minLength: 1, maxLength: 6 }), (nodes, start, walk) => {
        const all = byName(nodes);
        const withDeps = nodes.filter((n) => n.dependsOn.length > 0);
        fc.pre(withDeps.length > 0);
        // Walk down from a task along its dependencies, then close the loop with a back edge.
        const loop = [withDeps[start % withDeps.length] as TaskNode];
        for (const step of walk) {
          const deps = loop.at(-1)?.dependsOn ?? [];
          const next = all.get(deps[step % Math.max(1, deps.length)] ?? '');
          if (next) loop.push(next);
        }
        const [head] = loop;
        const tail = loop.at(-1);
        if (!head || !tail) throw new Error('unreachable');
        all.set(tail.name, { ...tail, dependsOn: [...tail.dependsOn, head.name] });

        for (const { name } of loop) {
          const verdict = evaluateDependencies(all.get(name) as TaskNode, all);
          if (verdict.state !== 'cycle') throw new Error(`${name}: expected a cycle, got ${verdict.state}`);
          // What it reports is a real cycle: each depends on the next, the last on the first.
          verdict.cycle.forEach((member, i) => {
            expect(all.get(member)?.dependsOn).toContain(verdict.cycle[(i + 1) % verdict.cycle.length]);
          });
        }
        expect(topologicalOrder([...all.values()])).toBeUndefined();
      }),
    );
  });

  it('is ready iff every dependency exists and succeeded', () => {
    fc.assert(
      fc.property(dag, fc.array(fc.nat()), (nodes, dropped) => {
        // Some tasks are not (yet) in the cache.
        const all = byName(nodes.filter((_, i) => !dropped.includes(i)));
        for (const node of nodes) {
          const ready = node.dependsOn.every((d) => all.get(d)?.phase === 'Succeeded');
          expect(evaluateDependencies(node, all).state === 'ready').toBe(ready);
        }
      }),
    );
  });
});
