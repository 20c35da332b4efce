import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../../../test/support/fake-clock.ts';
import type { RequestPriority } from './client.ts';
import { PriorityLimiter } from './priority-limiter.ts';

const RANK: Record<RequestPriority, number> = { high: 0, normal: 1, low: 2 };

/** Asks for a token per entry at one instant; records the order and the clock of each grant. */
function askAll(
  limiter: PriorityLimiter,
  clock: FakeClock,
  asks: readonly RequestPriority[],
  signals: (AbortSignal | undefined)[] = [],
): { order: number[]; at: number[] } {
  const order: number[] = [];
  const at: number[] = [];
  asks.forEach((priority, i) => {
    void limiter.acquire(signals[i], priority).then(() => {
      order.push(i);
      at[i] = clock.now();
    });
  });
  return { order, at };
}

describe('PriorityLimiter', () => {
  it.each([
    { name: 'within the burst: in arrival order, at once', burst: 3, asks: ['low', 'normal', 'high'], order: [0, 1, 2] },
    { name: 'past the burst: high, then normal, then low', burst: 1, asks: ['normal', 'low', 'normal', 'high'], order: [0, 3, 2, 1] },
    { name: 'first come first served within a lane', burst: 1, asks: ['low', 'low', 'low', 'normal'], order: [0, 3, 1, 2] },
    { name: 'a newcomer queues behind its own lane', burst: 2, asks: ['high', 'high', 'high', 'high'], order: [0, 1, 2, 3] },
  ] as const)('$name', async ({ burst, asks, order }) => {
    const clock = new FakeClock();
    const limiter = new PriorityLimiter(10, burst, clock);
    const granted = askAll(limiter, clock, asks);
    await clock.advance(10_000);
    expect(granted.order).toEqual(order);
  });

  it('an abort leaves the queue without spending a token: the next waiter gets it', async () => {
    const clock = new FakeClock();
    const limiter = new PriorityLimiter(10, 1, clock);
    const abort = new AbortController();
    const start = clock.now();
    const granted = askAll(limiter, clock, ['normal', 'normal', 'normal'], [undefined, abort.signal, undefined]);
    await flushMicrotasks();
    abort.abort();
    await clock.advance(100);
    // The aborted one resolved (its caller sees the abort); the third took the token it left.
    expect(granted.order).toEqual([0, 1, 2]);
    expect(granted.at).toEqual([start, start, start + 100]);
  });

  it('a low request that waited promoteLowAfterMs is served by arrival with the normal ones', async () => {
    const clock = new FakeClock();
    const limiter = new PriorityLimiter(1, 1, clock, { promoteLowAfterMs: 2500 });
    const order: string[] = [];
    const ask = (name: string, priority: RequestPriority): void => {
      void limiter.acquire(undefined, priority).then(() => order.push(name));
    };
    ask('first', 'normal');
    ask('low', 'low');
    // A steady stream of normal work, one new request per token.
    for (let s = 0; s < 5; s++) {
      ask(`normal-${String(s)}`, 'normal');
      await clock.advance(1000);
    }
    expect(order).toEqual(['first', 'normal-0', 'normal-1', 'low', 'normal-2', 'normal-3']);
  });

  it('unlimited (qps 0) never queues', async () => {
    const clock = new FakeClock();
    const granted = askAll(new PriorityLimiter(0, 1, clock), clock, ['low', 'normal', 'high']);
    await flushMicrotasks();
    expect(granted.order).toEqual([0, 1, 2]);
  });

  it('property: without promotion, grants go by lane then arrival, and never faster than burst + qps', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.constantFrom<RequestPriority>('high', 'normal', 'low'), { minLength: 1, maxLength: 60 }),
        async (qps, burst, asks) => {
          const clock = new FakeClock();
          const start = clock.now();
          const granted = askAll(new PriorityLimiter(qps, burst, clock, { promoteLowAfterMs: Infinity }), clock, asks);
          await clock.advance(Math.ceil((asks.length * 1000) / qps) + 1000);
          expect(granted.order).toHaveLength(asks.length);
          // Those past the burst wait; among them, a higher lane is never served after a lower one.
          const queued = granted.order.slice(burst);
          for (let i = 1; i < queued.length; i++) {
            const [a, b] = [queued[i - 1] ?? 0, queued[i] ?? 0];
            const [ra, rb] = [RANK[asks[a] ?? 'normal'], RANK[asks[b] ?? 'normal']];
            expect(ra < rb || (ra === rb && a < b)).toBe(true);
          }
          granted.order.forEach((index, n) => {
            const elapsed = (granted.at[index] ?? 0) - start;
            expect(n + 1).toBeLessThanOrEqual(burst + Math.floor((elapsed * qps) / 1000 + 1e-9));
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
