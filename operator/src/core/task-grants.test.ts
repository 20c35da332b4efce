import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { desiredGrants, planGrants, type GrantTask, type TaskGrants } from './task-grants.ts';

const task = (name: string, agent: string | undefined, finished = false, dependsOn: string[] = []): GrantTask => ({
  name,
  agent,
  finished,
  dependsOn,
});
const lookupIn =
  (tasks: readonly GrantTask[]) =>
  (name: string): GrantTask | undefined =>
    tasks.find((t) => t.name === name);
const plan = (applied: TaskGrants | undefined, tasks: readonly GrantTask[]): TaskGrants | undefined =>
  planGrants(
    'alice',
    applied,
    tasks.filter((t) => t.agent === 'alice'),
    lookupIn(tasks),
  );

describe('desiredGrants', () => {
  it('names the live tasks to write, and them and their existing dependencies to read', () => {
    const tasks = [task('b', 'alice', false, ['a', 'gone']), task('a', 'bob', true), task('c', 'alice', true, ['z'])];
    expect(desiredGrants('alice', tasks, lookupIn(tasks))).toEqual({ write: ['b'], read: ['a', 'b'] });
  });
});

describe('planGrants', () => {
  it('makes a missing Role again for an agent with a workload, with nothing to name', () => {
    expect(planGrants('alice', undefined, [], () => undefined, true)).toEqual({ read: [], write: [] });
  });

  const cases: { name: string; applied: TaskGrants | undefined; tasks: GrantTask[]; want: TaskGrants | undefined }[] = [
    {
      name: 'no Role yet and nothing to name: left to the runtime, which makes it with the workload',
      applied: undefined,
      tasks: [],
      want: undefined,
    },
    {
      name: 'no Role yet and a task to name: written',
      applied: undefined,
      tasks: [task('t1', 'alice')],
      want: { read: ['t1'], write: ['t1'] },
    },
    {
      name: 'a new assignment is added',
      applied: { read: [], write: [] },
      tasks: [task('t1', 'alice')],
      want: { read: ['t1'], write: ['t1'] },
    },
    { name: 'up to date: no write', applied: { read: ['t1'], write: ['t1'] }, tasks: [task('t1', 'alice')], want: undefined },
    {
      name: 'its own task finished: the name lingers until the next write',
      applied: { read: ['t1'], write: ['t1'] },
      tasks: [task('t1', 'alice', true)],
      want: undefined,
    },
    {
      name: 'the next assignment prunes the finished one',
      applied: { read: ['t1'], write: ['t1'] },
      tasks: [task('t1', 'alice', true), task('t2', 'alice')],
      want: { read: ['t2'], write: ['t2'] },
    },
    { name: 'a deleted task is taken away at once', applied: { read: ['t1'], write: ['t1'] }, tasks: [], want: { read: [], write: [] } },
    {
      name: 'a task reassigned to bob is taken away at once',
      applied: { read: ['t1'], write: ['t1'] },
      tasks: [task('t1', 'bob')],
      want: { read: [], write: [] },
    },
    {
      name: 'a task handed back to the queue stays until it is someone else’s: given to alice again, her Role never changed',
      applied: { read: ['t1'], write: ['t1'] },
      tasks: [task('t1', undefined)],
      want: undefined,
    },
    {
      name: 'a dependency of its finished task may linger',
      applied: { read: ['a', 't1'], write: ['t1'] },
      tasks: [task('t1', 'alice', true, ['a']), task('a', 'bob', true)],
      want: undefined,
    },
    {
      name: 'a deleted dependency is taken away',
      applied: { read: ['a', 't1'], write: ['t1'] },
      tasks: [task('t1', 'alice', true, ['a'])],
      want: { read: [], write: [] },
    },
    {
      name: 'a name it never had a reason for is taken away',
      applied: { read: ['x'], write: [] },
      tasks: [task('x', 'bob')],
      want: { read: [], write: [] },
    },
  ];
  it.each(cases)('$name', ({ applied, tasks, want }) => {
    expect(plan(applied, tasks)).toEqual(want);
  });

  const agents = fc.constantFrom('alice', 'bob', undefined);
  const names = fc.constantFrom<string>('t1', 't2', 't3', 't4', 't5');
  const world = fc.uniqueArray(
    fc.record({ name: names, agent: agents, finished: fc.boolean(), dependsOn: fc.uniqueArray(names, { maxLength: 2 }) }),
    {
      selector: (t) => t.name,
    },
  );
  const grants = fc.record({ read: fc.uniqueArray(names), write: fc.uniqueArray(names) });

  it('whatever was applied, the Role afterwards names all alice needs and nothing that is not hers', () => {
    fc.assert(
      fc.property(world, fc.option(grants, { nil: undefined }), (tasks, applied) => {
        const after = plan(applied, tasks) ?? applied ?? { read: [], write: [] };
        const need = desiredGrants('alice', tasks, lookupIn(tasks));
        expect(need.write.every((n) => after.write.includes(n)) && need.read.every((n) => after.read.includes(n))).toBe(true);
        const byName = lookupIn(tasks);
        // Nothing deleted (its name is free) and nothing another agent holds.
        const hers = (n: string): boolean => byName(n) !== undefined && (byName(n)?.agent === 'alice' || byName(n)?.agent === undefined);
        for (const n of after.write) expect(hers(n)).toBe(true);
        const deps = new Set(tasks.filter((t) => t.agent === 'alice').flatMap((t) => t.dependsOn));
        for (const n of after.read) expect(hers(n) || (byName(n) !== undefined && deps.has(n))).toBe(true);
        // And a Role just written needs no other write.
        expect(plan(after, tasks)).toBeUndefined();
      }),
      { numRuns: 2000 },
    );
  });
});
