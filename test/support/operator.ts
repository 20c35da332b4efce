import type { KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../../operator/src/config/config.ts';
import { registerAgentController } from '../../operator/src/controllers/agent/register.ts';
import { registerPolicyController } from '../../operator/src/controllers/policy/register.ts';
import { builtinRegistry } from '../../operator/src/builtin-registry.ts';
import type { Plugin } from '../../operator/src/framework/plugin.ts';
import { pluginsOf } from '../../operator/src/controllers/plugins/host.ts';
import { registerPluginHost, registerWebhookClient } from '../../operator/src/controllers/plugins/register.ts';
import { registerTaskController } from '../../operator/src/controllers/task/register.ts';
import { systemClock } from '../../operator/src/runtime/clock.ts';
import { Manager } from '../../operator/src/runtime/manager.ts';
import { adminKubeConfig } from './kube.ts';
import { testLogger, testMetrics } from './runtime.ts';
import { waitFor } from './wait.ts';

export interface RunningOperator {
  manager: Manager;
  stop(): Promise<number>;
}

/**
 * The operator's controllers in this process, scoped to one namespace, as admin (or as
 * `kubeConfig`: a restricted identity, the chart's RBAC say). The environment overrides
 * settings (AO_AGENT_DRAIN_GRACE: '5', say); `extraPlugins` join the built-in ones, as
 * out-of-tree plugins do.
 */
export async function startOperator(
  namespace: string,
  env: Record<string, string> = {},
  extraPlugins: readonly Plugin[] = [],
  kubeConfig: KubeConfig = adminKubeConfig(),
): Promise<RunningOperator> {
  const config = parseConfig([], {
    AO_WATCH_NAMESPACES: namespace,
    AO_LEADER_ELECT: 'false',
    AO_HEALTH_PROBE_BIND_ADDRESS: '0',
    AO_METRICS_BIND_ADDRESS: '0',
    AO_DOCKER_PULL_POLICY: 'Never',
    AO_DOCKER_NETWORK: 'host',
    ...env,
  });
  const logger = testLogger();
  const manager = new Manager({ config, kubeConfig, logger, metrics: testMetrics() });
  const registry = extraPlugins.reduce((r, p) => r.with(p), builtinRegistry());
  const plugins = pluginsOf(registry, manager.metrics.registry, config.pluginTimeBudgetMs);
  registerAgentController(manager, { config, logger, clock: systemClock });
  registerTaskController(manager, { config, logger, clock: systemClock, plugins });
  registerPolicyController(manager, { logger, clock: systemClock, plugins });
  const webhooks = registerWebhookClient(manager, { logger, clock: systemClock, plugins });
  registerPluginHost(manager, { logger, clock: systemClock, plugins, deliver: webhooks.deliver });
  const stop = new AbortController();
  const exit = manager.run(stop.signal);
  await waitFor('the operator to be ready', () => (manager.ready().ok ? true : undefined));
  return {
    manager,
    stop: async () => {
      stop.abort();
      return exit;
    },
  };
}
