import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface PoolSize {
  namespace: string;
  policy: string;
  pool: string;
  current: number;
  desired: number;
  asleep: number;
}

export interface PolicyMetrics {
  /** The last look at each pool, by `namespace/policy/pool`; the gauges read it when scraped. */
  sizes: Map<string, PoolSize>;
  scaleEvents: Counter<'namespace' | 'policy' | 'pool' | 'direction'>;
  scaleFromZeroSeconds: Histogram<'namespace' | 'policy' | 'pool'>;
}

export function policyMetrics(registry: Registry): PolicyMetrics {
  const registers = [registry];
  const sizes = new Map<string, PoolSize>();
  const labelNames = ['namespace', 'policy', 'pool'] as const;
  const gauge = (name: string, help: string, value: (s: PoolSize) => number): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const s of sizes.values()) this.set({ namespace: s.namespace, policy: s.policy, pool: s.pool }, value(s));
      },
    });
  };
  gauge('agent_orchestrator_pool_agents', 'Awake agents in each autoscaling pool', (s) => s.current);
  gauge('agent_orchestrator_pool_desired_agents', 'Awake agents the autoscaler wants in each pool', (s) => s.desired);
  gauge('agent_orchestrator_pool_sleeping_agents', 'Agents of each pool kept asleep (warm)', (s) => s.asleep);
  return {
    sizes,
    scaleEvents: new Counter({
      name: 'agent_orchestrator_pool_scale_events_total',
      help: 'Scale actions on pools by direction: up (create, wake) or down (remove, sleep)',
      labelNames: [...labelNames, 'direction'],
      registers,
    }),
    scaleFromZeroSeconds: new Histogram({
      name: 'agent_orchestrator_pool_scale_from_zero_seconds',
      help: 'From the oldest pending task of a pool at zero to its first agent Ready',
      labelNames,
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
      registers,
    }),
  };
}
