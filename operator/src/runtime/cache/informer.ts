import type { Logger } from 'pino';
import type { InformerMetrics } from '../../telemetry/metrics.ts';
import { isAborted, systemClock, type Clock } from '../clock.ts';
import { ApiError, isGone, isNotFound, messageOf } from '../errors.ts';
import type { Query, RestClient } from '../rest/client.ts';
import { keyOf, type KubeObject, type ObjectList } from '../rest/object.ts';
import { apiVersionOf, collectionPath, resourceName, type ResourceType } from '../rest/resource.ts';
import type { SharedInformer } from './informer-group.ts';
import { Store, forCache, type IndexFunc, type Transform } from './store.ts';

/** Informer callbacks. They must only enqueue work: whatever they throw is caught and counted. */
export interface EventHandler<T> {
  /** `initial`: the object came from the first list, not from a change. */
  onAdd?(obj: T, initial: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  /** On a relist, deletions seen only by their absence carry the last known state. */
  onDelete?(obj: T): void;
  /** Periodic re-delivery of every cached object. */
  onResync?(obj: T): void;
}

export interface InformerOptions<T extends KubeObject> {
  client: RestClient;
  resource: ResourceType;
  /** Unset: every namespace. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Readonly<Record<string, IndexFunc<T>>>;
  /** Applied to every object before it is cached (see setTransform). */
  transform?: Transform<T>;
  /**
   * Fill the cache with a streaming list (a watch with sendInitialEvents, client-go's
   * WatchListClient), falling back to paged lists for good when the server refuses it.
   * Default true.
   */
  watchList?: boolean;
  /** Items per list page, when listing. */
  pageSize?: number;
  /** Server-side length of each watch; client-go's 5-10 minutes by default. */
  watchTimeoutSeconds?: () => number;
  /** Relist when nothing (not even a bookmark) arrived for this long; 0 disables. */
  watchdogMs?: number;
  /** Re-deliver every cached object this often; 0 disables. */
  resyncMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  clock?: Clock;
  random?: () => number;
  logger: Logger;
  metrics?: InformerMetrics;
}

type WatchEnd = 'closed' | 'gone' | 'watchdog';

/** The annotation on the bookmark that ends a watch-list's initial events (KEP-3157). */
const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/** What fills the cache in one watch: a watch-list's initial events, held until their bookmark. */
interface InitialEvents<T> {
  reason: string;
  items: Map<string, T>;
}

/**
 * The query of a watch that fills a cache (a watch-list), its timeout aside: it starts from
 * the newest state the watch cache has (no resourceVersion, NotOlderThan), as client-go's
 * reflector asks for it. RestClient.prefetchWatch opens the same one ahead of the informer.
 */
export function watchListQuery(selectors: { labelSelector?: string | undefined; fieldSelector?: string | undefined }): Query {
  return {
    labelSelector: selectors.labelSelector,
    fieldSelector: selectors.fieldSelector,
    sendInitialEvents: true,
    resourceVersionMatch: 'NotOlderThan',
    allowWatchBookmarks: true,
  };
}

/**
 * The server does not take a watch with sendInitialEvents: before Kubernetes 1.27 it
 * rejects resourceVersionMatch on a watch, and later ones without the WatchList feature
 * reject sendInitialEvents (422 Invalid, or 400).
 */
function refusesWatchList(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 422 || err.status === 400);
}

/**
 * A supervised list-and-watch cache of one resource type. It fills the cache with a
 * streaming list (a watch whose initial events are the current objects, ended by a
 * bookmark; served from the watch cache and parsed while the server still writes), or
 * lists in pages where the server does not offer that, then watches from there with
 * bookmarks. A watch that ends is resumed from the last resourceVersion; 410 Gone, and
 * silence longer than the watchdog, refill the cache; errors back off with jitter (1 s
 * doubling to 30 s). It never throws out of its loop and never lets a handler's
 * exception escape.
 */
export class Informer<T extends KubeObject> implements SharedInformer<T> {
  readonly store: Store<T>;
  readonly resource: ResourceType;
  private readonly options: InformerOptions<T>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly name: string;
  private readonly handlers: EventHandler<T>[] = [];
  private synced = false;
  private running = false;
  private transform: Transform<T> | undefined;
  private watchList: boolean;
  private readonly syncWaiters: (() => void)[] = [];
  private counted = 0;

  constructor(options: InformerOptions<T>) {
    this.options = options;
    this.resource = options.resource;
    this.store = new Store<T>(options.indexers ?? {});
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.name = resourceName(options.resource);
    this.log = options.logger.child({ informer: this.name });
    this.transform = options.transform;
    this.watchList = options.watchList ?? true;
  }

  /**
   * Like client-go's SetTransform: `transform` trims every object before it is cached.
   * Set once (setting the same function again is a no-op), before run().
   */
  setTransform(transform: Transform<T>): void {
    if (this.transform === transform) return;
    if (this.transform || this.running) throw new Error(`informer ${this.name}: a transform is set once, before it runs`);
    this.transform = transform;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return this.store.list();
  }

  byIndex(name: string, value: string): T[] {
    return this.store.byIndex(name, value);
  }

  addIndexers(indexers: Readonly<Record<string, IndexFunc<T>>>): void {
    this.store.addIndexers(indexers);
  }

  /** Resolves once the first list is in the cache; resolves early if `signal` aborts. */
  async waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return true;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.syncWaiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
    return this.synced;
  }

  /** Handlers added after the first list get the cached objects as initial adds. */
  addHandler(handler: EventHandler<T>): void {
    this.handlers.push(handler);
    if (this.synced) for (const obj of this.store.list()) this.call(handler, 'onAdd', obj, true);
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    this.running = true;
    const stopResync = this.startResync();
    let resourceVersion = '';
    let relist: string | undefined = 'initial';
    let failures = 0;
    try {
      while (!signal.aborted) {
        try {
          if (relist && !this.watchList) {
            resourceVersion = await this.listAll(relist, signal);
            relist = undefined;
            failures = 0;
          }
          const started = this.clock.now();
          const progress = { heard: false };
          let initial: InitialEvents<T> | undefined;
          if (relist) {
            this.options.metrics?.relists.inc({ resource: this.name, reason: relist });
            initial = { reason: relist, items: new Map() };
          }
          const end = await this.watch(resourceVersion, initial, signal, () => {
            progress.heard = true;
            failures = 0;
          });
          resourceVersion = end.resourceVersion;
          // A watch-list that ended before its bookmark left the cache as it was: again.
          if (initial && !end.filled) relist = initial.reason;
          else relist = undefined;
          this.options.metrics?.watchRestarts.inc({ resource: this.name, reason: end.reason });
          if (end.reason !== 'closed') {
            this.log.info({ reason: end.reason }, 'relisting');
            relist = end.reason;
          } else if (!progress.heard && this.clock.now() - started < 1000) {
            // A server that closes every watch at once must not be hammered in a tight loop.
            failures++;
            await this.clock.sleep(this.backoff(failures), signal);
          }
        } catch (err) {
          if (isAborted(signal)) break;
          if (relist && this.watchList && refusesWatchList(err)) {
            this.watchList = false;
            this.log.info({ err: messageOf(err) }, 'the API server does not offer streaming lists (WatchList); listing in pages');
            continue;
          }
          if (isGone(err)) {
            relist = 'gone';
            this.options.metrics?.watchRestarts.inc({ resource: this.name, reason: 'gone' });
            continue;
          }
          failures++;
          const delay = this.backoff(failures);
          this.options.metrics?.watchRestarts.inc({ resource: this.name, reason: 'error' });
          const hint = isNotFound(err) ? ' (is the CRD installed? kubectl apply --server-side -f crds/)' : '';
          this.log.warn({ err: messageOf(err), retryInMs: delay, failures }, `${relist ? 'list' : 'watch'} failed${hint}`);
          await this.clock.sleep(delay, signal);
        }
      }
    } finally {
      stopResync();
    }
  }

  private get path(): string {
    return collectionPath(this.resource, this.options.namespace);
  }

  private selectors(): Record<string, string | undefined> {
    return { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector };
  }

  /** Lists everything (paged), reconciles the cache with it, and returns its resourceVersion. */
  private async listAll(reason: string, signal: AbortSignal): Promise<string> {
    this.options.metrics?.relists.inc({ resource: this.name, reason });
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      let page: ObjectList<T>;
      try {
        page = await this.options.client.request<ObjectList<T>>('GET', this.path, {
          query: { ...this.selectors(), limit: this.options.pageSize ?? 500, continue: cont },
          signal,
          // Every decision reads the caches: filling one comes before any write.
          priority: 'high',
        });
      } catch (err) {
        // A continue token expires after a few minutes: start the list over.
        if (cont && isGone(err)) {
          items.length = 0;
          cont = undefined;
          continue;
        }
        throw err;
      }
      for (const item of page.items) items.push(this.cached(item));
      resourceVersion = page.metadata.resourceVersion ?? resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    this.replace(items);
    return resourceVersion;
  }

  private replace(items: T[]): void {
    const initial = !this.synced;
    const seen = new Set<string>();
    for (const obj of items) {
      const key = keyOf(obj);
      seen.add(key);
      const previous = this.store.set(obj);
      if (!previous) this.emit('onAdd', obj, initial);
      else if (previous.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('onUpdate', previous, obj);
    }
    for (const key of this.store.keys()) {
      if (seen.has(key)) continue;
      const gone = this.store.delete(key);
      if (gone) this.emit('onDelete', gone);
    }
    this.countObjects();
    if (!this.synced) {
      this.synced = true;
      this.log.info({ objects: this.store.size }, 'cache synced');
      for (const wake of this.syncWaiters.splice(0)) wake();
    }
  }

  /**
   * Watches until the stream ends. With `initial`, a watch-list: the objects it streams
   * first are collected and replace the cache at the bookmark that ends them (`filled`).
   */
  private async watch(
    resourceVersion: string,
    initial: InitialEvents<T> | undefined,
    signal: AbortSignal,
    onFirstEvent: () => void,
  ): Promise<{ resourceVersion: string; reason: WatchEnd; filled: boolean }> {
    const watchSignal = new AbortController();
    const stop = (): void => {
      watchSignal.abort();
    };
    signal.addEventListener('abort', stop, { once: true });
    const watchdog = { fired: false };
    const watchdogMs = this.options.watchdogMs ?? 0;
    let cancelWatchdog = (): void => undefined;
    const armWatchdog = (): void => {
      cancelWatchdog();
      if (watchdogMs > 0) {
        cancelWatchdog = this.clock.setTimer(watchdogMs, () => {
          watchdog.fired = true;
          watchSignal.abort();
        });
      }
    };
    let rv = resourceVersion;
    let first = true;
    let filling = initial;
    const ended = (reason: WatchEnd): { resourceVersion: string; reason: WatchEnd; filled: boolean } => ({
      resourceVersion: rv,
      reason,
      filled: initial !== undefined && filling === undefined,
    });
    armWatchdog();
    try {
      const timeoutSeconds = Math.round(this.options.watchTimeoutSeconds?.() ?? 300 + this.random() * 300);
      const query = initial ? watchListQuery(this.options) : { ...this.selectors(), resourceVersion, allowWatchBookmarks: true };
      const events = this.options.client.watch<T>(this.path, { ...query, timeoutSeconds }, watchSignal.signal);
      for await (const event of events) {
        armWatchdog();
        this.options.metrics?.lastEvent.set({ resource: this.name }, this.clock.now() / 1000);
        if (first) {
          first = false;
          onFirstEvent();
        }
        if (event.type === 'ERROR') {
          const status = event.object as unknown as { code?: number; reason?: string; message?: string };
          if (status.code === 410) return ended('gone');
          throw new ApiError(status.code ?? 500, status.reason ?? 'WatchError', status.message ?? '', 'WATCH', this.path);
        }
        rv = event.object.metadata.resourceVersion ?? rv;
        if (filling) {
          if (event.type === 'BOOKMARK') {
            if (event.object.metadata.annotations?.[INITIAL_EVENTS_END] === 'true') {
              this.replace([...filling.items.values()]);
              filling = undefined;
            }
          } else if (event.type === 'DELETED') filling.items.delete(keyOf(event.object));
          else filling.items.set(keyOf(event.object), this.cached(event.object));
          continue;
        }
        if (event.type === 'BOOKMARK') continue;
        this.apply(event.type, this.cached(event.object));
      }
      return ended('closed');
    } catch (err) {
      if (watchdog.fired) return ended('watchdog');
      throw err;
    } finally {
      cancelWatchdog();
      signal.removeEventListener('abort', stop);
    }
  }

  private cached(obj: T): T {
    const trimmed = forCache(obj, apiVersionOf(this.resource), this.resource.kind);
    if (!this.transform) return trimmed;
    try {
      return this.transform(trimmed);
    } catch (err) {
      // A transform that fails on an odd object must not keep it out of the cache.
      this.log.warn({ err: messageOf(err), key: keyOf(trimmed) }, 'cache transform threw; caching the object as listed');
      return trimmed;
    }
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void {
    if (type === 'DELETED') {
      const gone = this.store.delete(keyOf(obj));
      this.emit('onDelete', gone ?? obj);
    } else {
      const previous = this.store.set(obj);
      if (previous) this.emit('onUpdate', previous, obj);
      else this.emit('onAdd', obj, false);
    }
    this.countObjects();
  }

  /**
   * Adds this cache's change to the gauge: one informer per watched namespace shares the
   * resource's series, and a set() of its own size would report only the last namespace.
   */
  private countObjects(): void {
    this.options.metrics?.objects.inc({ resource: this.name }, this.store.size - this.counted);
    this.counted = this.store.size;
  }

  private startResync(): () => void {
    const every = this.options.resyncMs ?? 0;
    if (every <= 0) return () => undefined;
    let cancel = (): void => undefined;
    const tick = (): void => {
      if (this.synced) for (const obj of this.store.list()) this.emit('onResync', obj);
      cancel = this.clock.setTimer(every, tick);
    };
    cancel = this.clock.setTimer(every, tick);
    return () => {
      cancel();
    };
  }

  /** Jittered exponential backoff: 1 s, 2 s, 4 s ... capped at 30 s, each +-20%. */
  private backoff(failures: number): number {
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    const base = Math.min(maxMs, initialMs * 2 ** (failures - 1));
    return Math.round(base * (0.8 + 0.4 * this.random()));
  }

  private emit(event: 'onAdd', obj: T, initial: boolean): void;
  private emit(event: 'onUpdate', oldObj: T, newObj: T): void;
  private emit(event: 'onDelete' | 'onResync', obj: T): void;
  private emit(event: keyof EventHandler<T>, a: T, b?: T | boolean): void {
    for (const handler of this.handlers) this.call(handler, event, a, b);
  }

  private call(handler: EventHandler<T>, event: keyof EventHandler<T>, a: T, b?: T | boolean): void {
    try {
      if (event === 'onAdd') handler.onAdd?.(a, b === true);
      else if (event === 'onUpdate') handler.onUpdate?.(a, b as T);
      else if (event === 'onDelete') handler.onDelete?.(a);
      else handler.onResync?.(a);
    } catch (err) {
      this.options.metrics?.handlerErrors.inc({ resource: this.name });
      this.log.error({ err: messageOf(err), event, key: keyOf(a) }, 'event handler threw; the informer goes on');
    }
  }
}
