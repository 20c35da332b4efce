import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TaskInfo } from '../../operator/src/framework/index.ts';
import { NOW, routingOf, task, type TaskFields } from '../../operator/src/framework/testing.ts';
import { effectivePriority, priority, priorityConfig } from './index.ts';

describe('effectivePriority', () => {
  it.each([
    ['just queued', 100, 0, 10, 100],
    ['9.9 s: not yet a point', 100, 9_900, 10, 100],
    ['10 s: one point', 100, 10_000, 10, 101],
    ['an hour at 10 s a point', 0, 3_600_000, 10, 360],
    ['capped at 1000', 900, 3_600_000, 10, 1000],
    ['slower aging', 100, 3_600_000, 3600, 101],
    ['queued in the future (clock skew): no aging, no penalty', 100, -60_000, 10, 100],
  ] as [string, number, number, number, number][])('%s', (_case, p, waitedMs, aging, expected) => {
    expect(effectivePriority(task('t', { priority: p, queuedAt: NOW - waitedMs }), NOW, aging)).toBe(expected);
  });
});

describe('priority queue sort', () => {
  const routing = routingOf(priority);
  const cmp = (a: TaskInfo, b: TaskInfo, now: number): number => {
    if (routing.queueSort === undefined) throw new Error('priority has no queueSort');
    return routing.queueSort(a, b, now);
  };
  const sorted = (tasks: [string, TaskFields][]): string[] =>
    tasks
      .map(([name, fields]) => task(name, fields))
      .sort((a, b) => cmp(a, b, NOW))
      .map((t) => t.name);

  it.each([
    [
      'higher priority first',
      [
        ['low', { priority: 1 }],
        ['high', { priority: 900 }],
      ],
      ['high', 'low'],
    ],
    [
      'equal priority: first in, first out',
      [
        ['second', { queuedAt: NOW - 1 }],
        ['first', { queuedAt: NOW - 2 }],
      ],
      ['first', 'second'],
    ],
    [
      'all equal: by key',
      [
        ['b', {}],
        ['a', {}],
      ],
      ['a', 'b'],
    ],
    [
      'an old low-priority task overtakes a fresh higher one',
      [
        ['fresh', { priority: 150 }],
        ['old', { priority: 100, queuedAt: NOW - 600_000 }],
      ],
      ['old', 'fresh'],
    ],
    [
      'both at the cap: the one queued first',
      [
        ['max', { priority: 1000, queuedAt: NOW - 1 }],
        ['aged', { priority: 990, queuedAt: NOW - 3_600_000 }],
      ],
      ['aged', 'max'],
    ],
  ] as [string, [string, TaskFields][], string[]][])('%s', (_case, tasks, expected) => {
    expect(sorted(tasks)).toEqual(expected);
  });

  it('ages by agingSecondsPerPoint from its config', () => {
    const slow = routingOf(priority, { agingSecondsPerPoint: 3600 });
    const fresh = task('fresh', { priority: 150 });
    const old = task('old', { priority: 100, queuedAt: NOW - 600_000 });
    // At 10 s a point the old task has gained 60 points; at an hour a point, none.
    expect(cmp(old, fresh, NOW)).toBeLessThan(0);
    expect(slow.queueSort?.(old, fresh, NOW)).toBeGreaterThan(0);
  });

  it('defaults agingSecondsPerPoint to 10 and rejects nonsense', () => {
    expect(priorityConfig.parse({})).toEqual({ agingSecondsPerPoint: 10 });
    expect(priority.config.safeParse({ agingSecondsPerPoint: 0 }).success).toBe(false);
    expect(priority.config.safeParse({ agingSecondsPerPoint: 1.5 }).success).toBe(false);
    expect(priority.config.safeParse({ agingSecondsPerPoint: 86401 }).success).toBe(false);
    expect(priority.config.safeParse({ aging: 5 }).success).toBe(false);
    expect(() => routingOf(priority, { agingSecondsPerPoint: 0 })).toThrow();
  });

  it('is a total order: antisymmetric and transitive', () => {
    const taskArb = fc.record({
      name: fc.constantFrom('a', 'b', 'c', 'd'),
      priority: fc.integer({ min: 0, max: 1000 }),
      waited: fc.integer({ min: 0, max: 20_000_000 }),
    });
    fc.assert(
      fc.property(taskArb, taskArb, taskArb, (x, y, z) => {
        const [a, b, c] = [x, y, z].map((f) => task(f.name, { priority: f.priority, queuedAt: NOW - f.waited }));
        if (a === undefined || b === undefined || c === undefined) throw new Error('unreachable');
        expect(Math.sign(cmp(a, b, NOW))).toBe(-Math.sign(cmp(b, a, NOW)));
        if (cmp(a, b, NOW) <= 0 && cmp(b, c, NOW) <= 0) expect(cmp(a, c, NOW)).toBeLessThanOrEqual(0);
      }),
    );
  });
});
