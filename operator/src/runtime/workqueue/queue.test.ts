import fc from 'fast-check';
import type { Histogram } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../../../test/support/fake-clock.ts';
import { createMetrics, type Metrics } from '../../telemetry/metrics.ts';
import { ItemExponentialFailureRateLimiter } from './rate-limiters.ts';
import { WorkQueue, type Priority } from './queue.ts';

function setup(): { clock: FakeClock; queue: WorkQueue } {
  const clock = new FakeClock();
  return { clock, queue: new WorkQueue({ name: 'test', clock }) };
}

/** A get() whose outcome can be inspected without awaiting it. */
function track(promise: Promise<string | undefined>): { settled: boolean; value: string | undefined } {
  const state = { settled: false, value: undefined as string | undefined };
  void promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

/** Takes every ready key, in order, finishing each one. */
async function drainOrder(queue: WorkQueue): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) {
    const key = await queue.get();
    if (key === undefined) break;
    keys.push(key);
    queue.done(key);
  }
  return keys;
}

describe('WorkQueue add/get', () => {
  it.each<{ name: string; adds: [string, Priority][]; order: string[] }>([
    {
      name: 'a key is queued once',
      adds: [
        ['a', 'high'],
        ['a', 'high'],
        ['a', 'high'],
      ],
      order: ['a'],
    },
    {
      name: 'duplicates keep first position',
      adds: [
        ['a', 'high'],
        ['b', 'high'],
        ['a', 'high'],
        ['c', 'high'],
        ['b', 'high'],
      ],
      order: ['a', 'b', 'c'],
    },
    {
      name: 'high before low',
      adds: [
        ['l1', 'low'],
        ['h1', 'high'],
        ['l2', 'low'],
        ['h2', 'high'],
      ],
      order: ['h1', 'h2', 'l1', 'l2'],
    },
    {
      name: 'high add promotes a low key',
      adds: [
        ['a', 'low'],
        ['b', 'high'],
        ['c', 'low'],
        ['a', 'high'],
      ],
      order: ['b', 'a', 'c'],
    },
    {
      name: 'low add never demotes',
      adds: [
        ['b', 'low'],
        ['a', 'high'],
        ['a', 'low'],
      ],
      order: ['a', 'b'],
    },
  ])('$name', async ({ adds, order }) => {
    const { queue } = setup();
    for (const [key, priority] of adds) queue.add(key, priority);
    expect(queue.len()).toBe(order.length);
    expect(await drainOrder(queue)).toEqual(order);
  });

  it('get waits for an add, and waiting getters are served in order', async () => {
    const { queue } = setup();
    const first = track(queue.get());
    const second = track(queue.get());
    await flushMicrotasks();
    expect(first.settled || second.settled).toBe(false);
    queue.add('a');
    await flushMicrotasks();
    expect(first).toEqual({ settled: true, value: 'a' });
    expect(second.settled).toBe(false);
    queue.add('b');
    await flushMicrotasks();
    expect(second).toEqual({ settled: true, value: 'b' });
    expect(queue.processing()).toBe(2);
    expect(queue.len()).toBe(0);
  });
});

describe('WorkQueue exclusivity', () => {
  it('does not hand out a key being processed until done, then hands it out again', async () => {
    const { queue } = setup();
    queue.add('a');
    expect(await queue.get()).toBe('a');
    queue.add('a');
    queue.add('a');
    expect(queue.len()).toBe(0);
    expect(queue.processing()).toBe(1);
    const waiting = track(queue.get());
    await flushMicrotasks();
    expect(waiting.settled).toBe(false);
    queue.done('a');
    await flushMicrotasks();
    expect(waiting).toEqual({ settled: true, value: 'a' });
    queue.done('a');
    expect(queue.len()).toBe(0);
    expect(queue.processing()).toBe(0);
  });

  it('serves other keys while one is held', async () => {
    const { queue } = setup();
    queue.add('a');
    expect(await queue.get()).toBe('a');
    queue.add('a');
    queue.add('b');
    expect(await queue.get()).toBe('b');
  });

  it('re-queues a key re-added while held at the priority it was re-added with', async () => {
    const { queue } = setup();
    queue.add('a');
    expect(await queue.get()).toBe('a');
    queue.add('a', 'low');
    queue.add('b', 'low');
    queue.add('a', 'high');
    queue.done('a');
    expect(await drainOrder(queue)).toEqual(['a', 'b']);
  });

  it('done for a key not held is ignored', () => {
    const { queue } = setup();
    queue.add('a');
    expect(() => {
      queue.done('a');
      queue.done('never');
    }).not.toThrow();
    expect(queue.len()).toBe(1);
    expect(queue.processing()).toBe(0);
  });
});

describe('WorkQueue addAfter', () => {
  it.each([
    { name: 'positive delay', delays: [1000], due: 1000 },
    { name: 'earliest of several wins', delays: [1000, 500, 2000], due: 500 },
    { name: 'zero adds now', delays: [0], due: 0 },
    { name: 'negative adds now', delays: [-5], due: 0 },
    { name: 'beyond the setTimeout range', delays: [2 ** 31 + 1000], due: 2 ** 31 + 1000 },
  ])('$name', async ({ delays, due }) => {
    const { clock, queue } = setup();
    for (const delay of delays) queue.addAfter('a', delay);
    if (due > 0) {
      await clock.advance(due - 1);
      expect(queue.len()).toBe(0);
      await clock.advance(1);
    }
    expect(queue.len()).toBe(1);
    expect(await queue.get()).toBe('a');
    queue.done('a');
    // The later deadlines were dropped, not left to add the key again.
    await clock.advance(10_000);
    expect(queue.len()).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('keeps the higher priority of merged delays', async () => {
    const { clock, queue } = setup();
    queue.add('b', 'low');
    queue.addAfter('a', 100, 'low');
    queue.addAfter('a', 200, 'high');
    await clock.advance(100);
    expect(await drainOrder(queue)).toEqual(['a', 'b']);
  });

  it('is independent of immediate adds', async () => {
    const { clock, queue } = setup();
    queue.addAfter('a', 100);
    queue.add('a');
    expect(await queue.get()).toBe('a');
    queue.done('a');
    await clock.advance(100);
    expect(queue.len()).toBe(1);
  });
});

describe('WorkQueue rate limiting', () => {
  it('adds after the limiter delay and counts requeues until forget', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue({ name: 'test', clock, rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000) });
    for (const delay of [5, 10, 20]) {
      queue.addRateLimited('a');
      await clock.advance(delay - 1);
      expect(queue.len()).toBe(0);
      await clock.advance(1);
      expect(await queue.get()).toBe('a');
      queue.done('a');
    }
    expect(queue.numRequeues('a')).toBe(3);
    queue.forget('a');
    expect(queue.numRequeues('a')).toBe(0);
  });

  it('uses the default controller limiter when none is given', async () => {
    const { clock, queue } = setup();
    queue.addRateLimited('a');
    expect(queue.len()).toBe(0);
    await clock.advance(5);
    expect(queue.len()).toBe(1);
  });
});

describe('WorkQueue shutdown', () => {
  it('wakes waiting getters with undefined and hands out nothing more', async () => {
    const { queue } = setup();
    const waiting = [track(queue.get()), track(queue.get())];
    queue.shutDown();
    await flushMicrotasks();
    expect(waiting).toEqual([
      { settled: true, value: undefined },
      { settled: true, value: undefined },
    ]);
    queue.add('a');
    expect(queue.len()).toBe(0);
    expect(await queue.get()).toBeUndefined();
    expect(queue.shuttingDown()).toBe(true);
    queue.shutDown();
    expect(queue.shuttingDown()).toBe(true);
  });

  it('stops handing out keys still queued', async () => {
    const { queue } = setup();
    queue.add('a');
    queue.shutDown();
    expect(await queue.get()).toBeUndefined();
  });

  it('cancels delayed adds', async () => {
    const { clock, queue } = setup();
    queue.addAfter('a', 100);
    queue.addRateLimited('b');
    expect(clock.pending()).toBe(2);
    queue.shutDown();
    expect(clock.pending()).toBe(0);
    queue.addAfter('c', 100);
    expect(clock.pending()).toBe(0);
    await clock.advance(1000);
    expect(queue.len()).toBe(0);
  });
});

async function read(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const want = { name: 'test', ...labels };
  return metric?.values.find((v) => Object.entries(want).every(([k, value]) => v.labels[k] === value))?.value;
}

async function histogram(metric: Histogram<'name'>): Promise<{ sum: number | undefined; count: number | undefined }> {
  const { name, values } = await metric.get();
  const find = (suffix: string): number | undefined =>
    values.find((v) => v.metricName === `${name}_${suffix}` && v.labels.name === 'test')?.value;
  return { sum: find('sum'), count: find('count') };
}

describe('WorkQueue metrics', () => {
  function withMetrics(): { clock: FakeClock; queue: WorkQueue; metrics: Metrics } {
    const clock = new FakeClock();
    const metrics = createMetrics({ processMetrics: false });
    return { clock, metrics, queue: new WorkQueue({ name: 'test', clock, metrics: metrics.workqueue }) };
  }

  it('counts adds that make a key pending, not duplicates or adds after shutdown', async () => {
    const { queue, metrics } = withMetrics();
    queue.add('a');
    queue.add('a');
    queue.add('b', 'low');
    queue.add('b', 'high');
    expect(await read(metrics, 'workqueue_adds_total')).toBe(2);
    await queue.get();
    queue.add('a');
    queue.add('a');
    expect(await read(metrics, 'workqueue_adds_total')).toBe(3);
    queue.shutDown();
    queue.add('c');
    expect(await read(metrics, 'workqueue_adds_total')).toBe(3);
  });

  it('tracks depth by priority, including keys waiting behind their own run', async () => {
    const { queue, metrics } = withMetrics();
    const depth = async (): Promise<[number | undefined, number | undefined]> => [
      await read(metrics, 'workqueue_depth', { priority: 'high' }),
      await read(metrics, 'workqueue_depth', { priority: 'low' }),
    ];
    expect(await depth()).toEqual([0, 0]);
    queue.add('a');
    queue.add('b', 'low');
    queue.add('c', 'low');
    expect(await depth()).toEqual([1, 2]);
    queue.add('c', 'high');
    expect(await depth()).toEqual([2, 1]);
    expect(await queue.get()).toBe('a');
    expect(await depth()).toEqual([1, 1]);
    queue.add('a', 'low');
    expect(await depth()).toEqual([1, 2]);
    queue.done('a');
    expect(await depth()).toEqual([1, 2]);
    await drainOrder(queue);
    expect(await depth()).toEqual([0, 0]);
  });

  it('observes queue and work durations on the clock', async () => {
    const { clock, queue, metrics } = withMetrics();
    queue.add('a');
    await clock.advance(2000);
    await queue.get();
    await clock.advance(3000);
    queue.done('a');
    expect(await histogram(metrics.workqueue.queueDuration)).toEqual({ sum: 2, count: 1 });
    expect(await histogram(metrics.workqueue.workDuration)).toEqual({ sum: 3, count: 1 });
  });

  it('counts retries', async () => {
    const { queue, metrics } = withMetrics();
    queue.addRateLimited('a');
    queue.addRateLimited('a');
    queue.addAfter('b', 10);
    expect(await read(metrics, 'workqueue_retries_total')).toBe(2);
  });

  it('reports unfinished work and the longest running processor', async () => {
    const { clock, queue, metrics } = withMetrics();
    queue.add('a');
    queue.add('b');
    await queue.get();
    await clock.advance(1000);
    await queue.get();
    await clock.advance(2000);
    queue.updateUnfinishedWorkMetrics();
    expect(await read(metrics, 'workqueue_unfinished_work_seconds')).toBe(5);
    expect(await read(metrics, 'workqueue_longest_running_processor_seconds')).toBe(3);
    queue.done('a');
    queue.done('b');
    queue.updateUnfinishedWorkMetrics();
    expect(await read(metrics, 'workqueue_unfinished_work_seconds')).toBe(0);
    expect(await read(metrics, 'workqueue_longest_running_processor_seconds')).toBe(0);
  });
});

type Op = { kind: 'add'; key: string; priority: Priority } | { kind: 'get' } | { kind: 'done'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('add' as const), key: fc.constantFrom('a', 'b', 'c'), priority: fc.constantFrom<Priority>('high', 'low') }),
  fc.record({ kind: fc.constant('get' as const) }),
  fc.record({ kind: fc.constant('done' as const), pick: fc.nat() }),
);

describe('WorkQueue properties', () => {
  it('never double-holds a key, serves high first, and processes every key after its last add', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
        const { queue } = setup();
        // A reference model of client-go's dirty/processing sets, with priorities.
        const ready = new Map<string, Priority>();
        const dirty = new Map<string, Priority>();
        const held = new Set<string>();
        const lastAdd = new Map<string, number>();
        const lastHandout = new Map<string, number>();
        const violations: string[] = [];
        let step = 0;

        const startGet = (): void => {
          // Recorded, not thrown: a throw here would be an unhandled rejection, not a failed run.
          void queue.get().then((key) => {
            if (key === undefined) return;
            if (held.has(key)) violations.push(`${key} handed to a second worker`);
            const priority = ready.get(key);
            if (priority === undefined) violations.push(`${key} handed out but not pending`);
            if (priority === 'low' && [...ready.values()].includes('high')) violations.push(`low ${key} served before a high key`);
            ready.delete(key);
            held.add(key);
            lastHandout.set(key, step++);
          });
        };
        const finish = (key: string): void => {
          held.delete(key);
          queue.done(key);
          const again = dirty.get(key);
          dirty.delete(key);
          if (again) ready.set(key, again);
        };
        const check = (): void => {
          expect(violations).toEqual([]);
          expect(queue.processing()).toBe(held.size);
          expect(queue.len()).toBe(ready.size);
          expect(queue.len() + queue.processing()).toBeLessThanOrEqual(3);
        };

        for (const op of ops) {
          if (op.kind === 'add') {
            const into = held.has(op.key) ? dirty : ready;
            if (into.get(op.key) !== 'high') into.set(op.key, op.priority);
            lastAdd.set(op.key, step++);
            queue.add(op.key, op.priority);
          } else if (op.kind === 'get') {
            startGet();
          } else {
            const keys = [...held];
            const key = keys[op.pick % Math.max(1, keys.length)];
            if (key !== undefined) finish(key);
          }
          await flushMicrotasks();
          check();
        }

        // Finish everything, one step at a time so the model sees each hand-out as it happens.
        for (let rounds = 0; held.size > 0 || queue.len() > 0; rounds++) {
          expect(rounds).toBeLessThan(100);
          const key = held.values().next();
          if (key.done) startGet();
          else finish(key.value);
          await flushMicrotasks();
          check();
        }
        for (const [key, added] of lastAdd) expect(lastHandout.get(key) ?? -1).toBeGreaterThan(added);
        queue.shutDown();
      }),
      { numRuns: 300 },
    );
  });
});
