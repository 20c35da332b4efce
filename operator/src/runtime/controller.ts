import type { Logger } from 'pino';
import type { ControllerMetrics, WorkqueueMetrics } from '../telemetry/metrics.ts';
import type { SharedInformer } from './cache/informer-group.ts';
import { systemClock, type Clock } from './clock.ts';
import { TerminalError, isConflict, messageOf } from './errors.ts';
import { loopHeldTooLong, nextLoopTurn } from './loop-share.ts';
import { keyOf, type KubeObject } from './rest/object.ts';
import type { RateLimiter } from './workqueue/rate-limiters.ts';
import { WorkQueue } from './workqueue/queue.ts';

export interface ReconcileResult {
  /** Reconcile this key again after so many milliseconds, even if nothing changes. */
  requeueAfter?: number;
}

export interface ReconcileContext {
  /** Aborts when the reconcile must stop at once (leadership lost, shutdown deadline). */
  signal: AbortSignal;
  /** A child logger carrying {controller, key}. */
  log: Logger;
}

/**
 * Level-based and idempotent: read the current state of `key`, make the world match it.
 * Throw TerminalError for what a retry cannot fix; any other error retries with backoff,
 * and a 409 Conflict retries quietly.
 */
export interface Reconciler {
  reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | undefined>;
}

export interface ControllerOptions {
  name: string;
  reconciler: Reconciler;
  /** Concurrent reconciles; one key is never reconciled by two at once. */
  workers?: number;
  /** Run only while this replica holds the leader lease (the default). */
  leaderOnly?: boolean;
  logger: Logger;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  metrics?: { controller: ControllerMetrics; workqueue: WorkqueueMetrics };
}

/** A workqueue fed by informers, drained by workers that call one Reconciler. */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly leaderOnly: boolean;
  private readonly options: ControllerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.name = options.name;
    this.leaderOnly = options.leaderOnly ?? true;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger.child({ controller: options.name });
    this.queue = new WorkQueue({
      name: options.name,
      clock: this.clock,
      ...(options.rateLimiter ? { rateLimiter: options.rateLimiter } : {}),
      ...(options.metrics ? { metrics: options.metrics.workqueue } : {}),
    });
  }

  /**
   * Enqueues keys for an informer's events: the object's own key, or what `map` returns
   * (e.g. the owner's key). Initial lists and resyncs go in at low priority. `updates`
   * filters update events (e.g. to skip status-only changes).
   */
  watch<T extends KubeObject>(
    informer: SharedInformer<T>,
    map: (obj: T) => readonly string[] = (obj) => [keyOf(obj)],
    options: { updates?: (oldObj: T, newObj: T) => boolean } = {},
  ): void {
    const enqueue = (obj: T, priority: 'high' | 'low'): void => {
      for (const key of map(obj)) this.queue.add(key, priority);
    };
    informer.addHandler({
      onAdd: (obj, initial) => {
        enqueue(obj, initial ? 'low' : 'high');
      },
      onUpdate: (old, obj) => {
        if (!options.updates || options.updates(old, obj)) enqueue(obj, 'high');
      },
      onDelete: (obj) => {
        enqueue(obj, 'high');
      },
      onResync: (obj) => {
        enqueue(obj, 'low');
      },
    });
  }

  /**
   * Runs the workers. When `stop` aborts, no new key is taken and the call resolves once
   * the reconciles in flight have returned; `abort` is what they see as their signal.
   */
  async start(stop: AbortSignal, abort: AbortSignal): Promise<void> {
    const workers = this.options.workers ?? 1;
    this.options.metrics?.controller.maxConcurrentReconciles.set({ controller: this.name }, workers);
    this.options.metrics?.controller.activeWorkers.set({ controller: this.name }, 0);
    const shutDown = (): void => {
      this.queue.shutDown();
    };
    if (stop.aborted) shutDown();
    stop.addEventListener('abort', shutDown, { once: true });
    this.log.info({ workers }, 'starting workers');
    // Work in progress is invisible to work_duration until it ends; sample it so a stuck
    // reconcile shows up on dashboards while it is stuck.
    let cancelSample = (): void => undefined;
    const sample = (): void => {
      this.queue.updateUnfinishedWorkMetrics();
      cancelSample = this.clock.setTimer(1000, sample);
    };
    sample();
    try {
      await Promise.all(Array.from({ length: workers }, () => this.work(abort)));
    } finally {
      cancelSample();
      stop.removeEventListener('abort', shutDown);
      this.log.info('workers stopped');
    }
  }

  private async work(abort: AbortSignal): Promise<void> {
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      await this.process(key, abort);
      // After its reconcile, not before: each worker gets one per turn, none is starved.
      if (loopHeldTooLong()) await nextLoopTurn();
    }
  }

  private async process(key: string, abort: AbortSignal): Promise<void> {
    const labels = { controller: this.name };
    const metrics = this.options.metrics?.controller;
    const log = this.log.child({ key });
    const start = this.clock.now();
    metrics?.activeWorkers.inc(labels);
    try {
      const result = await this.options.reconciler.reconcile(key, { signal: abort, log });
      this.queue.forget(key);
      const after = result?.requeueAfter ?? 0;
      if (after > 0) {
        this.queue.addAfter(key, after);
        metrics?.reconcileTotal.inc({ ...labels, result: 'requeue_after' });
      } else {
        metrics?.reconcileTotal.inc({ ...labels, result: 'success' });
      }
    } catch (err) {
      if (err instanceof TerminalError) {
        this.queue.forget(key);
        metrics?.reconcileErrors.inc(labels);
        metrics?.terminalErrors.inc(labels);
        metrics?.reconcileTotal.inc({ ...labels, result: 'error' });
        log.error({ err: messageOf(err) }, `${this.name} ${key}: terminal error, not retrying`);
      } else if (isConflict(err)) {
        // The cache was behind the server: retry with fresh data, nothing to report.
        this.queue.addRateLimited(key);
        metrics?.reconcileTotal.inc({ ...labels, result: 'requeue' });
        log.debug({ err: messageOf(err) }, 'conflict, requeued');
      } else {
        this.queue.addRateLimited(key);
        metrics?.reconcileErrors.inc(labels);
        metrics?.reconcileTotal.inc({ ...labels, result: 'error' });
        log.error({ err: messageOf(err), retries: this.queue.numRequeues(key) }, `${this.name} ${key}: reconcile failed, retrying`);
      }
    } finally {
      metrics?.reconcileTime.observe(labels, (this.clock.now() - start) / 1000);
      metrics?.activeWorkers.dec(labels);
      this.queue.done(key);
    }
  }
}
