import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { taskSpec, taskStatus, type HistoryEntry } from '../resources.ts';

export interface TaskMetrics {
  assignmentSeconds: Histogram<'namespace'>;
  endToEndSeconds: Histogram<'outcome'>;
  cycleSeconds: Histogram;
  retries: Counter<'namespace'>;
  tokens: Counter<'namespace' | 'model' | 'type'>;
  cost: Counter<'namespace' | 'model' | 'currency'>;
}

const lastAttempt = (t: KubeObject): HistoryEntry | undefined => taskStatus(t).history?.at(-1);

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** Task metrics; the gauges are computed from the caches when Prometheus scrapes. */
export function taskMetrics(registry: Registry, tasks: SharedInformer<KubeObject>): TaskMetrics {
  const registers = [registry];
  new Gauge({
    name: 'agent_orchestrator_tasks_pending',
    help: 'Tasks waiting for an agent, by namespace and required capability (a task counts once per capability; none: "")',
    labelNames: ['namespace', 'capability'],
    registers,
    collect() {
      this.reset();
      for (const t of tasks.list()) {
        const phase = taskStatus(t).phase;
        if (phase !== undefined && phase !== 'Pending') continue;
        const caps = taskSpec(t).requiredCapabilities ?? [];
        for (const capability of caps.length ? caps : ['']) this.inc({ namespace: t.metadata.namespace ?? '', capability });
      }
    },
  });
  // Lost attempts are written by the operator and by runners (a restarted runner hands
  // back its predecessor's): counted from the watch, so both are seen.
  const lost = new Counter({
    name: 'agent_orchestrator_task_attempts_lost_total',
    help: 'Attempts handed back because their agent or its runner process went away (history outcome Lost)',
    labelNames: ['namespace'],
    registers,
  });
  tasks.addHandler({
    onUpdate: (old, current) => {
      const before = lastAttempt(old);
      const after = lastAttempt(current);
      if (after?.outcome !== 'Lost') return;
      if (before && before.outcome === after.outcome && before.time === after.time && before.agent === after.agent) return;
      lost.inc({ namespace: current.metadata.namespace ?? '' });
    },
  });
  return {
    assignmentSeconds: new Histogram({
      name: 'agent_orchestrator_task_assignment_seconds',
      help: 'From a task becoming ready to run (creation, unblocking, hand-back) to its assignment',
      labelNames: ['namespace'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    endToEndSeconds: new Histogram({
      name: 'agent_orchestrator_task_end_to_end_seconds',
      help: 'From task creation to Succeeded, Failed or Cancelled',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    cycleSeconds: new Histogram({
      name: 'agent_orchestrator_routing_cycle_seconds',
      help: 'Duration of one routing cycle (decisions, not writes)',
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    tokens: new Counter({
      name: 'agent_orchestrator_task_tokens_total',
      help: 'Tokens of the tasks that ended, by model and type (input, output, cached: the part of input the prompt cache served)',
      labelNames: ['namespace', 'model', 'type'],
      registers,
    }),
    cost: new Counter({
      name: 'agent_orchestrator_task_cost_total',
      help: "Cost of the tasks that ended, from the policy's spec.accounting.prices, in its currency",
      labelNames: ['namespace', 'model', 'currency'],
      registers,
    }),
    retries: new Counter({
      name: 'agent_orchestrator_task_retries_total',
      help: 'Failed attempts retried',
      labelNames: ['namespace'],
      registers,
    }),
  };
}

/** The router's queue by state, read when Prometheus scrapes. */
export function routerQueueGauge(
  registry: Registry,
  router: { readonly sizes: Record<'active' | 'parked' | 'backoff' | 'assumed', number> },
): void {
  new Gauge({
    name: 'agent_orchestrator_routing_queue_tasks',
    help: "Tasks in the router's queue: active (next cycle), parked (no agent could take them; looked at again on a change), backoff (retryAt ahead), assumed (assignment being written)",
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      for (const [queue, n] of Object.entries(router.sizes)) this.set({ queue }, n);
    },
  });
}
