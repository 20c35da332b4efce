import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// Names follow controller-runtime and client-go so their dashboards and alerts work
// unchanged; the few of our own carry the agent_orchestrator_ prefix.

const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5,
  5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
const QUEUE_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000];

/** A queue's depth by priority, read when metrics are scraped. */
export interface QueueDepth {
  name: string;
  high: number;
  low: number;
}

export interface WorkqueueMetrics {
  /** Read at scrape time from the queues that registered with watchDepth. */
  depth: Gauge<'name' | 'priority'>;
  /**
   * Registers a queue's depth for workqueue_depth, for the queue's (the process's) life.
   * Read on scrape rather than set on every add and take: two labelled gauge sets per add
   * were a quarter of the time a start with 10,000 cached Tasks took to enqueue them.
   */
  watchDepth(read: () => QueueDepth): void;
  adds: Counter<'name'>;
  queueDuration: Histogram<'name'>;
  workDuration: Histogram<'name'>;
  retries: Counter<'name'>;
  unfinishedWork: Gauge<'name'>;
  longestRunningProcessor: Gauge<'name'>;
}

export interface ControllerMetrics {
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileErrors: Counter<'controller'>;
  terminalErrors: Counter<'controller'>;
  reconcileTime: Histogram<'controller'>;
  activeWorkers: Gauge<'controller'>;
  maxConcurrentReconciles: Gauge<'controller'>;
}

export interface InformerMetrics {
  watchRestarts: Counter<'resource' | 'reason'>;
  relists: Counter<'resource' | 'reason'>;
  handlerErrors: Counter<'resource'>;
  objects: Gauge<'resource'>;
  lastEvent: Gauge<'resource'>;
}

export interface ClientMetrics {
  requests: Counter<'code' | 'method' | 'host'>;
  /** client-go's counter cannot tell which budget or resource a request spent: this can. */
  requestsByResource: Counter<'client' | 'verb' | 'resource'>;
  requestLatency: Histogram<'verb'>;
  rateLimiterDuration: Histogram<'verb'>;
}

export interface Metrics {
  registry: Registry;
  workqueue: WorkqueueMetrics;
  controller: ControllerMetrics;
  informer: InformerMetrics;
  client: ClientMetrics;
  leaderElection: Gauge<'name'>;
  eventsDropped: Counter<'reason'>;
}

/** A fresh registry with every metric of the runtime (and Node's process metrics). */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const depthReaders = new Set<() => QueueDepth>();
  return {
    registry,
    workqueue: {
      depth: new Gauge({
        name: 'workqueue_depth',
        help: 'Current depth of workqueue',
        labelNames: ['name', 'priority'],
        registers,
        collect() {
          for (const read of depthReaders) {
            const { name, high, low } = read();
            this.set({ name, priority: 'high' }, high);
            this.set({ name, priority: 'low' }, low);
          }
        },
      }),
      watchDepth: (read) => {
        depthReaders.add(read);
      },
      adds: new Counter({
        name: 'workqueue_adds_total',
        help: 'Total number of adds handled by workqueue',
        labelNames: ['name'],
        registers,
      }),
      queueDuration: new Histogram({
        name: 'workqueue_queue_duration_seconds',
        help: 'How long in seconds an item stays in workqueue before being requested',
        labelNames: ['name'],
        buckets: QUEUE_BUCKETS,
        registers,
      }),
      workDuration: new Histogram({
        name: 'workqueue_work_duration_seconds',
        help: 'How long in seconds processing an item from workqueue takes',
        labelNames: ['name'],
        buckets: QUEUE_BUCKETS,
        registers,
      }),
      retries: new Counter({
        name: 'workqueue_retries_total',
        help: 'Total number of retries handled by workqueue',
        labelNames: ['name'],
        registers,
      }),
      unfinishedWork: new Gauge({
        name: 'workqueue_unfinished_work_seconds',
        help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration",
        labelNames: ['name'],
        registers,
      }),
      longestRunningProcessor: new Gauge({
        name: 'workqueue_longest_running_processor_seconds',
        help: 'How many seconds has the longest running processor for workqueue been running',
        labelNames: ['name'],
        registers,
      }),
    },
    controller: {
      reconcileTotal: new Counter({
        name: 'controller_runtime_reconcile_total',
        help: 'Total number of reconciliations per controller',
        labelNames: ['controller', 'result'],
        registers,
      }),
      reconcileErrors: new Counter({
        name: 'controller_runtime_reconcile_errors_total',
        help: 'Total number of reconciliation errors per controller',
        labelNames: ['controller'],
        registers,
      }),
      terminalErrors: new Counter({
        name: 'controller_runtime_terminal_reconcile_errors_total',
        help: 'Total number of terminal reconciliation errors per controller',
        labelNames: ['controller'],
        registers,
      }),
      reconcileTime: new Histogram({
        name: 'controller_runtime_reconcile_time_seconds',
        help: 'Length of time per reconciliation per controller',
        labelNames: ['controller'],
        buckets: RECONCILE_BUCKETS,
        registers,
      }),
      activeWorkers: new Gauge({
        name: 'controller_runtime_active_workers',
        help: 'Number of currently used workers per controller',
        labelNames: ['controller'],
        registers,
      }),
      maxConcurrentReconciles: new Gauge({
        name: 'controller_runtime_max_concurrent_reconciles',
        help: 'Maximum number of concurrent reconciles per controller',
        labelNames: ['controller'],
        registers,
      }),
    },
    informer: {
      watchRestarts: new Counter({
        name: 'agent_orchestrator_watch_restarts_total',
        help: 'Watches restarted after an error or the end of the stream, by resource and reason',
        labelNames: ['resource', 'reason'],
        registers,
      }),
      relists: new Counter({
        name: 'agent_orchestrator_informer_relists_total',
        help: 'Full lists by resource and reason (initial, gone, watchdog)',
        labelNames: ['resource', 'reason'],
        registers,
      }),
      handlerErrors: new Counter({
        name: 'agent_orchestrator_informer_handler_errors_total',
        help: 'Event handlers that threw; the informer caught and logged them',
        labelNames: ['resource'],
        registers,
      }),
      objects: new Gauge({
        name: 'agent_orchestrator_informer_objects',
        help: 'Objects in the cache',
        labelNames: ['resource'],
        registers,
      }),
      lastEvent: new Gauge({
        name: 'agent_orchestrator_informer_last_event_timestamp_seconds',
        help: 'When the informer last heard from the API server (event or bookmark)',
        labelNames: ['resource'],
        registers,
      }),
    },
    client: {
      requests: new Counter({
        name: 'rest_client_requests_total',
        help: 'Number of HTTP requests, partitioned by status code, method, and host',
        labelNames: ['code', 'method', 'host'],
        registers,
      }),
      requestsByResource: new Counter({
        name: 'agent_orchestrator_client_requests_total',
        help: 'Requests sent to the Kubernetes API, by client (its own rate limit), verb and resource',
        labelNames: ['client', 'verb', 'resource'],
        registers,
      }),
      requestLatency: new Histogram({
        name: 'rest_client_request_duration_seconds',
        help: 'Request latency in seconds, by verb',
        labelNames: ['verb'],
        buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
        registers,
      }),
      rateLimiterDuration: new Histogram({
        name: 'rest_client_rate_limiter_duration_seconds',
        help: 'Client side rate limiter latency in seconds, by verb',
        labelNames: ['verb'],
        buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
        registers,
      }),
    },
    leaderElection: new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    }),
    eventsDropped: new Counter({
      name: 'agent_orchestrator_events_dropped_total',
      help: 'Kubernetes Events not written, by reason',
      labelNames: ['reason'],
      registers,
    }),
  };
}
