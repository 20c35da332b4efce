import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.ts';
import { Controller } from './controller.ts';

describe('Controller workers', () => {
  it('hand the event loop back while reconciles that never wait for I/O keep coming', async () => {
    let done = 0;
    const controller = new Controller({
      name: 'busy',
      leaderOnly: false,
      workers: 2,
      logger: pino({ level: 'silent' }),
      reconciler: {
        // A reconcile that finds nothing to do: 1 ms of work and no I/O.
        reconcile: () => {
          const until = performance.now() + 1;
          while (performance.now() < until);
          done++;
          return Promise.resolve(undefined);
        },
      },
    });
    for (let i = 0; i < 100; i++) controller.queue.add(`ns/k${String(i)}`, 'low');
    const stop = new AbortController();
    const running = controller.start(stop.signal, stop.signal);
    // What a probe request or a watch event waits for: the loop's next turn.
    const doneAtNextTurn = await new Promise<number>((resolve) => {
      setImmediate(() => {
        resolve(done);
      });
    });
    await waitFor('every key reconciled', () => (done === 100 ? true : undefined));
    stop.abort();
    await running;
    expect(doneAtNextTurn).toBeGreaterThan(0);
    expect(doneAtNextTurn).toBeLessThan(100);
  });
});
