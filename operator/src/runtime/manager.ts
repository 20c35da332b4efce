import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { createMetrics, type Metrics } from '../telemetry/metrics.ts';
import { InformerGroup, type SharedInformer } from './cache/informer-group.ts';
import { Informer, watchListQuery } from './cache/informer.ts';
import type { IndexFunc, Transform } from './cache/store.ts';
import { systemClock, within, type Clock } from './clock.ts';
import type { Controller } from './controller.ts';
import { EventRecorder } from './events.ts';
import { serve, type Serving } from './http-server.ts';
import { LeaderElector } from './leader-election.ts';
import { RestClient } from './rest/client.ts';
import type { AccessSource } from './rest/kubeconfig/client-node.ts';
import { PriorityLimiter } from './rest/priority-limiter.ts';
import type { KubeObject } from './rest/object.ts';
import { collectionPath, resourceName, type ResourceType } from './rest/resource.ts';
import { Writer } from './writer.ts';

const REPORTING_QPS = 20;
const REPORTING_BURST = 50;
// Events have a budget of their own, as kube-scheduler's event client does: sharing the
// reports' budget, a burst of thousands of Events (a fleet of broken agents, a workflow
// blocked at once) held every "why it waits" report behind it for minutes.
const EVENTS_QPS = 20;
const EVENTS_BURST = 50;

export interface ManagerOptions {
  config: Config;
  /** Where the API server is and how to authenticate (kubeconfig/load.ts). */
  kubeConfig: AccessSource;
  logger: Logger;
  metrics?: Metrics;
  clock?: Clock;
}

export interface Runnable {
  name: string;
  /** Run only while this replica leads (the default). */
  leaderOnly?: boolean;
  /** Runs until `signal` aborts; errors are logged, not fatal. */
  run(signal: AbortSignal): Promise<void>;
}

export interface InformerRequest<T extends KubeObject> {
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Readonly<Record<string, IndexFunc<T>>>;
  /** Trims objects before they are cached; every request that names one must name the same. */
  transform?: Transform<T>;
}

/**
 * Runs the operator: caches first, then controllers (leader-only ones while this replica
 * holds the Lease), probes and metrics throughout, and a graceful shutdown that stops
 * taking work, lets reconciles in flight finish, then releases the Lease.
 */
export class Manager {
  readonly client: RestClient;
  readonly writer: Writer;
  readonly events: EventRecorder;
  /**
   * For best-effort reports (Events, why a task waits): their own request budget, so a
   * burst of them never delays real work such as assignments or starting agents.
   */
  readonly reportingClient: RestClient;
  private readonly eventsClient: RestClient;
  readonly metrics: Metrics;
  private readonly config: Config;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly informers: { key: string; name: string; informer: SharedInformer<KubeObject> }[] = [];
  private readonly controllers: Controller[] = [];
  private readonly runnables: Runnable[] = [];
  private stopping = false;
  private readonly serving: Serving[] = [];

  constructor(options: ManagerOptions) {
    this.config = options.config;
    this.log = options.logger;
    this.clock = options.clock ?? systemClock;
    this.metrics = options.metrics ?? createMetrics();
    this.client = new RestClient(options.kubeConfig, {
      name: 'main',
      limiter: new PriorityLimiter(this.config.kubeApiQps, this.config.kubeApiBurst, this.clock),
      metrics: this.metrics.client,
      clock: this.clock,
    });
    this.writer = new Writer(this.client);
    this.reportingClient = new RestClient(options.kubeConfig, {
      name: 'reporting',
      limiter: new PriorityLimiter(REPORTING_QPS, REPORTING_BURST, this.clock),
      metrics: this.metrics.client,
      clock: this.clock,
    });
    this.eventsClient = new RestClient(options.kubeConfig, {
      name: 'events',
      limiter: new PriorityLimiter(EVENTS_QPS, EVENTS_BURST, this.clock),
      metrics: this.metrics.client,
      clock: this.clock,
    });
    this.events = new EventRecorder({
      client: this.eventsClient,
      controller: 'agents.orchestrator.dev/operator',
      instance: this.config.identity,
      logger: this.log.child({ component: 'events' }),
      clock: this.clock,
      dropped: this.metrics.eventsDropped,
    });
  }

  /**
   * A cache of one resource type, across the watched namespaces. Register before run().
   * Asking twice for the same type and selectors returns the same (shared) cache, with
   * the indexes of both requests.
   */
  informer<T extends KubeObject>(resource: ResourceType, request: InformerRequest<T> = {}): SharedInformer<T> {
    const key = `${resourceName(resource)}|${request.labelSelector ?? ''}|${request.fieldSelector ?? ''}`;
    const shared = this.informers.find((i) => i.key === key)?.informer as SharedInformer<T> | undefined;
    if (shared) {
      if (request.indexers) shared.addIndexers(request.indexers);
      if (request.transform) shared.setTransform(request.transform);
      return shared;
    }
    const members = this.namespacesOf(resource).map(
      (namespace) =>
        new Informer<T>({
          client: this.client,
          resource,
          ...(namespace ? { namespace } : {}),
          ...(request.labelSelector ? { labelSelector: request.labelSelector } : {}),
          ...(request.fieldSelector ? { fieldSelector: request.fieldSelector } : {}),
          ...(request.indexers ? { indexers: request.indexers } : {}),
          ...(request.transform ? { transform: request.transform } : {}),
          watchdogMs: this.config.watchdogSeconds * 1000,
          resyncMs: this.config.resyncPeriodSeconds * 1000,
          clock: this.clock,
          logger: this.log,
          metrics: this.metrics.informer,
        }),
    );
    const [only] = members;
    const informer: SharedInformer<T> = members.length === 1 && only ? only : new InformerGroup(members);
    this.informers.push({ key, name: resourceName(resource), informer });
    return informer;
  }

  /**
   * Opens the watch-lists that will fill the cache of `resource` now, before anyone asks
   * for that cache: the informer that run() starts with the same selectors takes them over
   * (RestClient.prefetchWatch). For the cache that takes longest to fill, so that the API
   * server streams it while the rest of the operator loads. Resolves once the server has
   * answered them (RestClient.prefetchWatch).
   */
  async prefetch(
    resource: ResourceType,
    selectors: Pick<InformerRequest<KubeObject>, 'labelSelector' | 'fieldSelector'> = {},
  ): Promise<void> {
    const query = watchListQuery(selectors);
    await Promise.all(
      this.namespacesOf(resource).map((namespace) => this.client.prefetchWatch(collectionPath(resource, namespace), query)),
    );
  }

  /** One informer per watched namespace, or one for the whole cluster. */
  private namespacesOf(resource: ResourceType): (string | undefined)[] {
    return resource.namespaced && this.config.watchNamespaces.length ? [...this.config.watchNamespaces] : [undefined];
  }

  add(controller: Controller): void {
    this.controllers.push(controller);
  }

  /** A background loop (a periodic sweep, say) started with the controllers. */
  addRunnable(runnable: Runnable): void {
    this.runnables.push(runnable);
  }

  /** Ready: every cache has synced and no shutdown has begun. */
  ready(): { ok: boolean; waiting: string[] } {
    const waiting = this.informers.filter((i) => !i.informer.hasSynced()).map((i) => `informer ${i.name} not synced`);
    if (this.stopping) waiting.push('shutting down');
    return { ok: waiting.length === 0, waiting };
  }

  /** Bound addresses of the probe and metrics servers (useful when port 0 was asked for). */
  addresses(): string[] {
    return this.serving.map((s) => s.address);
  }

  /** Runs until `signal` aborts (or leadership is lost). Resolves with the process exit code. */
  async run(signal: AbortSignal): Promise<number> {
    let exitCode = 0;
    const shutdown = new AbortController();
    const stop = (code: number): void => {
      if (code) exitCode = code;
      // Unready at once, so a Service stops sending traffic before work stops.
      this.stopping = true;
      shutdown.abort();
    };
    signal.addEventListener(
      'abort',
      () => {
        stop(0);
      },
      { once: true },
    );
    if (signal.aborted) stop(0);

    await this.startServers();
    const caches = new AbortController();
    const cachesDone = Promise.all(this.informers.map((i) => i.informer.run(caches.signal)));
    const work = new AbortController();
    const hardStop = new AbortController();
    const running: Promise<void>[] = [];
    const startAll = (leaderOnly: boolean, stopSignal: AbortSignal, abortSignal: AbortSignal): void => {
      for (const c of this.controllers.filter((x) => x.leaderOnly === leaderOnly)) running.push(c.start(stopSignal, abortSignal));
      for (const r of this.runnables.filter((x) => (x.leaderOnly ?? true) === leaderOnly)) {
        running.push(
          r.run(stopSignal).catch((err: unknown) => {
            this.log.error({ runnable: r.name, err: String(err) }, 'runnable failed');
          }),
        );
      }
    };

    const synced = await Promise.all(this.informers.map((i) => i.informer.waitForSync(shutdown.signal)));
    let elector: Promise<'stopped' | 'lost'> | undefined;
    const campaign = new AbortController();
    if (synced.every(Boolean) && !shutdown.signal.aborted) {
      this.log.info({ informers: this.informers.length }, 'caches synced');
      startAll(false, work.signal, hardStop.signal);
      if (this.config.leaderElect) {
        elector = this.campaign(campaign.signal, (leading) => {
          // Losing the lease stops leader-only controllers at once: their reconciles are aborted.
          const stopLeading = AbortSignal.any([leading, work.signal]);
          startAll(true, stopLeading, AbortSignal.any([leading, hardStop.signal]));
        });
        elector.then(
          (outcome) => {
            if (outcome === 'lost') stop(1);
          },
          () => undefined,
        );
      } else {
        startAll(true, work.signal, hardStop.signal);
      }
    }

    await new Promise<void>((resolve) => {
      if (shutdown.signal.aborted) resolve();
      shutdown.signal.addEventListener(
        'abort',
        () => {
          resolve();
        },
        { once: true },
      );
    });
    this.log.info({ timeoutSeconds: this.config.shutdownTimeoutSeconds }, 'shutting down: no new work, finishing reconciles in flight');
    work.abort();
    const drained = await within(this.clock, this.config.shutdownTimeoutSeconds * 1000, Promise.all(running));
    if (!drained) {
      this.log.error('reconciles still running at the shutdown deadline; aborting them');
      hardStop.abort();
      exitCode = 1;
    }
    campaign.abort();
    if (elector) await elector.catch(() => undefined);
    caches.abort();
    await cachesDone;
    await Promise.all(this.serving.map((s) => s.close()));
    await Promise.all([this.client.close(), this.reportingClient.close(), this.eventsClient.close()]);
    this.log.info({ exitCode }, 'stopped');
    return exitCode;
  }

  private campaign(signal: AbortSignal, onStartedLeading: (leading: AbortSignal) => void): Promise<'stopped' | 'lost'> {
    const elector = new LeaderElector({
      client: this.client,
      namespace: this.config.leaderElectionNamespace,
      name: this.config.leaderElectionId,
      identity: this.config.identity,
      leaseDurationMs: this.config.leaseDurationSeconds * 1000,
      renewDeadlineMs: this.config.renewDeadlineSeconds * 1000,
      retryPeriodMs: this.config.retryPeriodSeconds * 1000,
      logger: this.log,
      clock: this.clock,
      metric: this.metrics.leaderElection,
    });
    return elector.run(signal, { onStartedLeading });
  }

  private async startServers(): Promise<void> {
    const log = this.log.child({ component: 'http' });
    const probes = await serve(
      this.config.healthProbeBindAddress,
      {
        '/healthz': () => ({ status: 200, body: 'ok' }),
        '/readyz': () => {
          const { ok, waiting } = this.ready();
          return ok ? { status: 200, body: 'ok' } : { status: 503, body: waiting.join('\n') };
        },
      },
      log,
    );
    const metrics = await serve(
      this.config.metricsBindAddress,
      {
        '/metrics': async () => ({
          status: 200,
          body: await this.metrics.registry.metrics(),
          contentType: this.metrics.registry.contentType,
        }),
      },
      log,
    );
    for (const s of [probes, metrics]) if (s) this.serving.push(s);
  }
}
