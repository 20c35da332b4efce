/**
 * Time, injected. Runtime code never calls Date.now() or setTimeout directly, so tests
 * drive time with a fake clock and nothing waits on the wall clock.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
  /** Resolves after `ms`, or at once when `signal` aborts (it never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    return () => {
      clearTimeout(t);
    };
  },
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    });
  },
};

/**
 * `signal.aborted`, read through a call so the compiler does not assume it is still
 * false after an await that happened since the last check.
 */
export function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** Waits for `work` at most `ms`: true if it settled in time (a rejection is rethrown), false if not. */
export async function within(clock: Clock, ms: number, work: Promise<unknown>): Promise<boolean> {
  const deadline = new AbortController();
  const timedOut = clock.sleep(ms, deadline.signal).then(() => false);
  const finished = work.then(() => true);
  try {
    return await Promise.race([finished, timedOut]);
  } finally {
    deadline.abort();
  }
}

/**
 * Waits for `work` until `signal` aborts, then rejects with its reason while `work` goes
 * on: for work shared by several callers, which no one caller's signal may cancel.
 */
export async function untilAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  let stop = (): void => undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    stop = (): void => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
