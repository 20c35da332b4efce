/**
 * How long reconciles that never wait for I/O (a cache that already says all is well) may
 * hold the event loop before they hand it back. After a restart with 10,000 objects
 * queued, probes, watch events and Lease renewals waited behind them.
 *
 * One budget for the whole process, not one per worker: with 16 workers that each held
 * the loop for 5 ms, a turn took 80 ms, and an HTTP probe, which needs three turns
 * (accept, read, answer), was answered 0.3 s after the caches had synced.
 *
 * Read from performance.now(), not an injected clock: this is CPU held, which a fake
 * clock does not see pass.
 */
export const SLICE_MS = 5;

let turnStarted = performance.now();
let nextTurn: Promise<void> | undefined;

/** True once the work done since the loop last turned (as far as we know) used up the slice. */
export function loopHeldTooLong(): boolean {
  return performance.now() - turnStarted >= SLICE_MS;
}

/**
 * Resolves on the loop's next turn, after pending I/O callbacks have run. Every caller
 * waits for the same turn, and the slice starts again when it comes.
 */
export function nextLoopTurn(): Promise<void> {
  nextTurn ??= new Promise<void>((resolve) => {
    setImmediate(() => {
      nextTurn = undefined;
      turnStarted = performance.now();
      resolve();
    });
  });
  return nextTurn;
}
