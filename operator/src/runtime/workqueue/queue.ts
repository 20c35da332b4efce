import type { Clock } from '../clock.ts';
import type { QueueDepth, WorkqueueMetrics } from '../../telemetry/metrics.ts';
import { defaultControllerRateLimiter, type RateLimiter } from './rate-limiters.ts';

/** 'low' is for keys from initial lists and resyncs, so they never delay real events. */
export type Priority = 'high' | 'low';

export interface WorkQueueOptions {
  name: string;
  clock: Clock;
  rateLimiter?: RateLimiter;
  metrics?: WorkqueueMetrics;
}

interface Delayed {
  at: number;
  priority: Priority;
  cancel: () => void;
}

// setTimeout fires at once for delays past 2^31-1 ms; longer waits are re-armed in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A deduplicating, two-level FIFO of keys with client-go's guarantees: a key is held by
 * at most one worker, and a key added while held is handed out again once it is done.
 */
export class WorkQueue {
  private readonly name: string;
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly metrics: WorkqueueMetrics | undefined;

  // Set iteration is insertion order, so each level is a FIFO with O(1) dedup and promotion.
  private readonly ready = { high: new Set<string>(), low: new Set<string>() };
  /** Keys added while held by a worker; they go back to `ready` on done(). */
  private readonly dirtyWhileProcessing = new Map<string, Priority>();
  private readonly processingSince = new Map<string, number>();
  /** When each waiting key was first added, for queue_duration. */
  private readonly addedAt = new Map<string, number>();
  private readonly delayed = new Map<string, Delayed>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private isShutDown = false;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.clock = options.clock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter(options.clock);
    this.metrics = options.metrics;
    this.metrics?.watchDepth(() => this.depth());
  }

  add(key: string, priority: Priority = 'high'): void {
    if (this.isShutDown) return;
    const level: Priority = priority === 'low' ? 'low' : 'high';
    if (this.processingSince.has(key)) {
      const pending = this.dirtyWhileProcessing.get(key);
      if (pending === undefined) this.recordAdd(key);
      if (pending !== 'high') this.dirtyWhileProcessing.set(key, level);
    } else if (this.ready.high.has(key)) {
      return;
    } else if (this.ready.low.has(key)) {
      if (level === 'low') return;
      this.ready.low.delete(key);
      this.ready.high.add(key);
    } else {
      this.recordAdd(key);
      this.ready[level].add(key);
      this.dispatch();
    }
  }

  /** Adds `key` once `delayMs` has passed; of several pending delays for a key the earliest wins. */
  addAfter(key: string, delayMs: number, priority: Priority = 'high'): void {
    if (this.isShutDown) return;
    if (!(delayMs > 0)) {
      this.add(key, priority);
      return;
    }
    const at = this.clock.now() + delayMs;
    const existing = this.delayed.get(key);
    const merged: Priority = existing?.priority === 'high' || priority !== 'low' ? 'high' : 'low';
    if (existing) {
      existing.priority = merged;
      if (existing.at <= at) return;
      existing.cancel();
    }
    const entry: Delayed = { at, priority: merged, cancel: () => undefined };
    this.delayed.set(key, entry);
    this.arm(key, entry);
  }

  addRateLimited(key: string, priority: Priority = 'high'): void {
    if (this.isShutDown) return;
    this.metrics?.retries.inc({ name: this.name });
    this.addAfter(key, this.rateLimiter.when(key), priority);
  }

  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /** The next key, held until done(key); undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.isShutDown) return Promise.resolve(undefined);
    const key = this.take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: string): void {
    const since = this.processingSince.get(key);
    if (since === undefined) return;
    this.processingSince.delete(key);
    this.metrics?.workDuration.observe({ name: this.name }, (this.clock.now() - since) / 1000);
    const again = this.dirtyWhileProcessing.get(key);
    if (again !== undefined) {
      this.dirtyWhileProcessing.delete(key);
      this.ready[again].add(key);
      this.dispatch();
    }
  }

  /** Keys waiting to be handed out (not those being processed). */
  len(): number {
    return this.ready.high.size + this.ready.low.size;
  }

  processing(): number {
    return this.processingSince.size;
  }

  shuttingDown(): boolean {
    return this.isShutDown;
  }

  /** Stops handing out work: waiting getters get undefined and delayed adds are dropped. */
  shutDown(): void {
    if (this.isShutDown) return;
    this.isShutDown = true;
    for (const entry of this.delayed.values()) entry.cancel();
    this.delayed.clear();
    for (const resolve of this.getters.splice(0)) resolve(undefined);
  }

  /** Work in progress is invisible to work_duration until done; scrape this periodically to see stuck workers. */
  updateUnfinishedWorkMetrics(): void {
    if (!this.metrics) return;
    const now = this.clock.now();
    let total = 0;
    let longest = 0;
    for (const since of this.processingSince.values()) {
      const seconds = Math.max(0, now - since) / 1000;
      total += seconds;
      longest = Math.max(longest, seconds);
    }
    this.metrics.unfinishedWork.set({ name: this.name }, total);
    this.metrics.longestRunningProcessor.set({ name: this.name }, longest);
  }

  private arm(key: string, entry: Delayed): void {
    const wait = Math.min(entry.at - this.clock.now(), MAX_TIMER_MS);
    entry.cancel = this.clock.setTimer(wait, () => {
      if (this.delayed.get(key) !== entry) return;
      if (entry.at - this.clock.now() >= 1) {
        this.arm(key, entry);
        return;
      }
      this.delayed.delete(key);
      this.add(key, entry.priority);
    });
  }

  /** Moves the next ready key to processing. */
  private take(): string | undefined {
    const level = this.ready.high.size > 0 ? this.ready.high : this.ready.low;
    const next = level.values().next();
    if (next.done) return undefined;
    const key = next.value;
    level.delete(key);
    const now = this.clock.now();
    this.processingSince.set(key, now);
    const added = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (added !== undefined) this.metrics?.queueDuration.observe({ name: this.name }, (now - added) / 1000);
    return key;
  }

  /** Hands ready keys to waiting getters, oldest getter first. */
  private dispatch(): void {
    while (this.getters.length > 0) {
      const key = this.take();
      if (key === undefined) return;
      this.getters.shift()?.(key);
    }
  }

  // Like client-go, only an add that makes a key pending counts; one already pending is a no-op.
  private recordAdd(key: string): void {
    if (!this.addedAt.has(key)) this.addedAt.set(key, this.clock.now());
    this.metrics?.adds.inc({ name: this.name });
  }

  // Like client-go, depth includes keys waiting for their own in-flight run to finish.
  private depth(): QueueDepth {
    let high = this.ready.high.size;
    let low = this.ready.low.size;
    for (const priority of this.dirtyWhileProcessing.values()) {
      if (priority === 'high') high++;
      else low++;
    }
    return { name: this.name, high, low };
  }
}
