import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sameForRouting, TaskQueue } from './task-queue.ts';
import { task } from './testing.ts';
import type { TaskInfo } from './types.ts';

const keys = (tasks: TaskInfo[]): string[] => tasks.map((t) => t.key).sort();

describe('TaskQueue', () => {
  it('routes a new task at the next cycle, and a backing-off one once its time comes', () => {
    const q = new TaskQueue();
    q.set('ns/a', task('a'));
    q.set('ns/b', task('b'), 5000);
    expect(keys(q.takeActive())).toEqual(['ns/a']);
    q.due(4999);
    expect(q.takeActive()).toEqual([]);
    q.due(5000);
    expect(keys(q.takeActive())).toEqual(['ns/b']);
  });

  it('keeps a parked task parked while nothing routing reads of it changes', () => {
    const q = new TaskQueue();
    const t = task('a', { priority: 5, labels: { team: 'x' } });
    q.set('ns/a', t);
    q.park(q.takeActive()[0] ?? t);
    q.set('ns/a', { ...t, labels: { team: 'x' } });
    expect(q.takeActive()).toEqual([]);
    expect(q.sizes).toEqual({ active: 0, parked: 1, backoff: 0 });
    q.set('ns/a', { ...t, priority: 6 });
    expect(keys(q.takeActive())).toEqual(['ns/a']);
  });

  it('wakes parked tasks of the namespace that fit, at most as many as asked, in the order they were parked', () => {
    const q = new TaskQueue();
    const tasks = [task('a', { required: ['gpu'] }), task('b'), task('c'), task('d'), task('e', { namespace: 'other' })];
    for (const t of tasks) q.set(t.key, t);
    for (const t of q.takeActive()) q.park(t);
    expect(q.wake('ns', (t) => t.required.length === 0, 2)).toBe(2);
    expect(keys(q.takeActive())).toEqual(['ns/b', 'ns/c']);
    expect(q.wake('ns')).toBe(2);
    expect(keys(q.takeActive())).toEqual(['ns/a', 'ns/d']);
    q.flush();
    expect(keys(q.takeActive())).toEqual(['other/e']);
  });

  it('forgets a task that stops waiting, wherever it was', () => {
    const q = new TaskQueue();
    q.set('ns/a', task('a'));
    q.set('ns/b', task('b'), 10);
    q.set('ns/c', task('c'));
    q.park(task('c'));
    for (const k of ['ns/a', 'ns/b', 'ns/c']) q.set(k, undefined);
    q.due(100);
    q.flush();
    expect(q.takeActive()).toEqual([]);
    expect(q.sizes).toEqual({ active: 0, parked: 0, backoff: 0 });
  });

  it('holds every task in exactly one place, after any sequence of events', () => {
    const names = ['a', 'b', 'c', 'd'];
    const op = fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        name: fc.constantFrom(...names),
        at: fc.constantFrom(0, 0, 50, 150),
        priority: fc.integer({ min: 0, max: 2 }),
      }),
      fc.record({ op: fc.constant('remove' as const), name: fc.constantFrom(...names) }),
      fc.record({ op: fc.constant('cycle' as const), park: fc.boolean() }),
      fc.record({ op: fc.constant('wake' as const), limit: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ op: fc.constant('due' as const), now: fc.constantFrom(0, 100, 200) }),
      fc.constant({ op: 'flush' as const }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const q = new TaskQueue();
        // What should be waiting: the last set of each task not removed since.
        const waiting = new Set<string>();
        let taken = new Set<string>();
        for (const o of ops) {
          if (o.op === 'set') {
            q.set(`ns/${o.name}`, task(o.name, { priority: o.priority }), o.at);
            waiting.add(`ns/${o.name}`);
            taken.delete(`ns/${o.name}`);
          } else if (o.op === 'remove') {
            q.remove(`ns/${o.name}`);
            waiting.delete(`ns/${o.name}`);
            taken.delete(`ns/${o.name}`);
          } else if (o.op === 'cycle') {
            const routed = q.takeActive();
            expect(new Set(routed.map((t) => t.key)).size).toBe(routed.length);
            // Routed tasks are parked (none fit) or taken (assigned) by the router.
            for (const t of routed) {
              if (o.park) q.park(t);
              else taken.add(t.key);
            }
            taken = new Set([...taken].filter((k) => waiting.has(k)));
          } else if (o.op === 'wake') q.wake('ns', () => true, o.limit);
          else if (o.op === 'due') q.due(o.now);
          else q.flush();
        }
        const { active, parked, backoff } = q.sizes;
        const held = [...waiting].filter((k) => !taken.has(k));
        expect(active + parked + backoff).toBe(held.length);
        for (const k of held) expect(q.has(k)).toBe(true);
        for (const k of taken) expect(q.has(k)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('sameForRouting', () => {
  it.each([
    ['the same fields', {}, true],
    ['another priority', { priority: 7 }, false],
    ['another required capability', { required: ['gpu'] }, false],
    ['another label', { labels: { team: 'y' } }, false],
    ['another annotation', { annotations: { 'hooks.agents.orchestrator.dev/answer': 'allow' } }, false],
    ['another generation', { generation: 2 }, false],
    ['a pin', { affinity: { agent: 'a' } }, false],
  ] as const)('%s', (_name, change, same) => {
    const base = task('t', { priority: 5, labels: { team: 'x' }, generation: 1 });
    expect(sameForRouting(base, { ...base, ...change })).toBe(same);
  });
});
