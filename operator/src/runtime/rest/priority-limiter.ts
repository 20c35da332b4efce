import type { Clock } from '../clock.ts';
import { TokenBucket } from '../workqueue/token-bucket.ts';
import type { RequestLimiter, RequestPriority } from './client.ts';

const LANES: readonly RequestPriority[] = ['high', 'normal', 'low'];
const PROMOTE_LOW_AFTER_MS = 5_000;

interface Waiter {
  seq: number;
  since: number;
  grant: () => void;
}

/**
 * One request budget (qps, burst) with priority lanes: while requests wait for a token,
 * the next one goes to the oldest waiter of the highest lane. A burst of best-effort
 * writes queued first then cannot delay the Lease renewal that keeps this replica the
 * leader, nor the write that makes an agent Ready. A low request that has waited
 * `promoteLowAfterMs` queues with the normal ones (by arrival): a reconcile waiting to
 * write a report holds a worker, and must not hold it for as long as the budget is busy.
 */
export class PriorityLimiter implements RequestLimiter {
  private readonly bucket: TokenBucket;
  private readonly clock: Clock;
  private readonly promoteLowAfterMs: number;
  private readonly lanes = new Map<RequestPriority, Waiter[]>(LANES.map((lane) => [lane, []]));
  private cancelTimer: (() => void) | undefined;
  private seq = 0;

  constructor(qps: number, burst: number, clock: Clock, options: { promoteLowAfterMs?: number } = {}) {
    this.bucket = new TokenBucket(qps, burst, clock);
    this.clock = clock;
    this.promoteLowAfterMs = options.promoteLowAfterMs ?? PROMOTE_LOW_AFTER_MS;
  }

  /** Resolves when the request may go; an abort ends the wait without spending a token. */
  acquire(signal?: AbortSignal, priority: RequestPriority = 'normal'): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    if (!this.waitingFrom(priority) && this.bucket.take() === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const lane = this.lanes.get(priority) ?? [];
      const onAbort = (): void => {
        const at = lane.indexOf(waiter);
        if (at >= 0) lane.splice(at, 1);
        resolve();
      };
      const waiter: Waiter = {
        seq: this.seq++,
        since: this.clock.now(),
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      lane.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.cancelTimer) this.dispatch();
    });
  }

  /** Someone in this lane or a higher one is already waiting: a newcomer queues behind them. */
  private waitingFrom(priority: RequestPriority): boolean {
    for (const lane of LANES) {
      if ((this.lanes.get(lane)?.length ?? 0) > 0) return true;
      if (lane === priority) return false;
    }
    return false;
  }

  private dispatch(): void {
    this.cancelTimer = undefined;
    for (;;) {
      const lane = this.next();
      if (!lane) return;
      const wait = this.bucket.take();
      if (wait > 0) {
        // Whole milliseconds: a wait smaller than the clock's precision would never end.
        this.cancelTimer = this.clock.setTimer(Math.ceil(wait), () => {
          this.dispatch();
        });
        return;
      }
      lane.shift()?.grant();
    }
  }

  /** The lane whose head goes next: high first, then normal and promoted low by arrival. */
  private next(): Waiter[] | undefined {
    const [high = [], normal = [], low = []] = LANES.map((l) => this.lanes.get(l) ?? []);
    if (high.length) return high;
    const oldLow = low[0] && this.clock.now() - low[0].since >= this.promoteLowAfterMs ? low[0] : undefined;
    if (normal[0] && (!oldLow || normal[0].seq < oldLow.seq)) return normal;
    return low.length ? low : undefined;
  }
}
