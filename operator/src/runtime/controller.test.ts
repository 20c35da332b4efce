import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/wait.ts';
import { Controller } from './controller.ts';
import { SLICE_MS } from './loop-share.ts';

/** A controller whose reconciles find nothing to do: 1 ms of work each and no I/O. */
function busyController(name: string, workers: number, keys: number, onDone: () => void): Controller {
  const controller = new Controller({
    name,
    leaderOnly: false,
    workers,
    logger: pino({ level: 'silent' }),
    reconciler: {
      reconcile: () => {
        const until = performance.now() + 1;
        while (performance.now() < until);
        onDone();
        return Promise.resolve(undefined);
      },
    },
  });
  for (let i = 0; i < keys; i++) controller.queue.add(`ns/k${String(i)}`, 'low');
  return controller;
}

describe('Controller workers', () => {
  it('hand the event loop back while reconciles that never wait for I/O keep coming', async () => {
    let done = 0;
    const controller = busyController('busy', 2, 100, () => done++);
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

  it('share one slice between every worker of the process, so a turn of the loop waits for one slice, not one per worker', async () => {
    // Two controllers with 8 workers each, as the operator runs its task and agent
    // controllers. Each worker holding the loop for a slice of its own made a turn 16
    // slices long; an HTTP probe needs three turns.
    let done = 0;
    const controllers = [busyController('tasks', 8, 300, () => done++), busyController('agents', 8, 300, () => done++)];
    const workers = 16;
    const perTurn: number[] = [];
    let last = 0;
    const turn = (): void => {
      perTurn.push(done - last);
      last = done;
      if (done < 600) setImmediate(turn);
    };
    setImmediate(turn);
    const stop = new AbortController();
    const running = controllers.map((c) => c.start(stop.signal, stop.signal));
    await waitFor('every key reconciled', () => (done === 600 ? true : undefined));
    stop.abort();
    await Promise.all(running);
    // Each reconcile holds the loop at least 1 ms: one worker fills the slice, and each
    // other worker does the one reconcile it resumed with.
    expect(Math.max(...perTurn)).toBeLessThanOrEqual(SLICE_MS + workers - 1);
  });
});
