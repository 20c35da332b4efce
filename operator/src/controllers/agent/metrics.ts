import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { agentStatus } from '../resources.ts';

export interface AgentMetrics {
  restarts: Counter<'runtime'>;
  registration: Histogram<'runtime'>;
}

/** Agent metrics; the gauges are computed from the caches when Prometheus scrapes. */
export function agentMetrics(
  registry: Registry,
  agents: SharedInformer<KubeObject>,
  leases: SharedInformer<KubeObject>,
  now: () => number,
): AgentMetrics {
  const registers = [registry];
  new Gauge({
    name: 'agent_orchestrator_agents',
    help: 'Agents by phase',
    labelNames: ['phase'],
    registers,
    collect() {
      this.reset();
      for (const a of agents.list()) this.inc({ phase: agentStatus(a).phase ?? 'Pending' });
    },
  });
  new Gauge({
    name: 'agent_orchestrator_agent_heartbeat_age_seconds',
    help: 'Seconds since each agent last renewed its heartbeat Lease',
    labelNames: ['namespace', 'agent'],
    registers,
    collect() {
      this.reset();
      for (const l of leases.list()) {
        const renew = (l.spec as { renewTime?: string } | undefined)?.renewTime;
        const agent = l.metadata.name?.replace(/^agent-/, '');
        if (renew && agent) this.set({ namespace: l.metadata.namespace ?? '', agent }, Math.max(0, now() - Date.parse(renew)) / 1000);
      }
    },
  });
  return {
    restarts: new Counter({
      name: 'agent_orchestrator_agent_workload_restarts_total',
      help: 'Agent workloads restarted by the operator after they exited',
      labelNames: ['runtime'],
      registers,
    }),
    registration: new Histogram({
      name: 'agent_orchestrator_agent_registration_seconds',
      help: 'From Agent creation to its first Ready (workload running and heartbeat renewed)',
      labelNames: ['runtime'],
      buckets: [0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 300],
      registers,
    }),
  };
}
