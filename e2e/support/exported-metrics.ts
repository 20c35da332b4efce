// The names of the metrics the operator exports: its registry with every controller
// registered (nothing is sent to an API server for that), plus the gauges its built-in
// lifecycle plugins create with their first tick over an agent.
import { pino } from 'pino';
import type { AgentObject, NamespaceSnapshot, PolicyObject, TaskObject } from '../../operator/src/framework/lifecycle.ts';
import { builtinPlugins } from '../../plugins/builtin.ts';
import { parseConfig } from '../../operator/src/config/config.ts';
import { registerControllers } from '../../operator/src/register-controllers.ts';
import { systemClock } from '../../operator/src/runtime/clock.ts';
import { Manager } from '../../operator/src/runtime/manager.ts';

/** Settings for plugins that export nothing with their defaults (no SLO, no gauge). */
const EXAMPLE_CONFIGS: Readonly<Record<string, unknown>> = {
  'production-slo': { slos: [{ name: 'success', indicator: 'SuccessRatio', objectivePercent: 99 }] },
  budget: { budgets: [{ name: 'monthly', maxCost: 100 }] },
};

export async function exportedMetrics(): Promise<Set<string>> {
  const config = parseConfig([], { AO_LEADER_ELECT: 'false' });
  const logger = pino({ level: 'silent' });
  const access = { server: 'https://127.0.0.1:9', proxyUrl: undefined, credentials: () => Promise.resolve({ headers: {}, tls: {} }) };
  const manager = new Manager({ config, kubeConfig: access, logger });
  await registerControllers(manager, { config, logger, clock: systemClock });
  const names = new Set((await manager.metrics.registry.getMetricsAsJSON()).map((m) => m.name));

  const agent: AgentObject = {
    metadata: { name: 'a', namespace: 'ns', uid: 'uid-a' },
    spec: {
      capabilities: [],
      runtime: { type: 'kubernetes', image: 'img' },
      maxConcurrentTasks: 1,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
      // An LLM agent: the context plugin reports on its window.
      context: { windowTokens: 1000, compactAtPercent: 80 },
    },
    status: { phase: 'Ready', resources: { cpuMillicores: 1, memoryBytes: 1, source: 'cgroup', observedAt: new Date().toISOString() } },
  };
  // A waiting task and a pool: what the performance plugin reports on.
  const task = {
    metadata: { name: 't', namespace: 'ns', uid: 'uid-t' },
    spec: { requiredCapabilities: ['x'] },
    status: { phase: 'Pending', queuedAt: new Date().toISOString() },
  } as unknown as TaskObject;
  const policy = {
    metadata: { name: 'p', namespace: 'ns', uid: 'uid-p' },
    spec: { autoscaling: { pools: [{ name: 'pool', maxAgents: 1, template: { capabilities: ['x'] } }] } },
  } as unknown as PolicyObject;
  const snapshot: NamespaceSnapshot = { now: Date.now(), namespace: 'ns', policy, agents: [agent], tasks: [task] };
  for (const plugin of builtinPlugins) {
    const lifecycle = plugin.create(plugin.config.parse(EXAMPLE_CONFIGS[plugin.name] ?? {})).lifecycle;
    for (const intent of lifecycle?.onTick?.(snapshot) ?? []) if (intent.kind === 'metric') names.add(`agent_orchestrator_${intent.name}`);
  }
  return names;
}
