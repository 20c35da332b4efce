import { ConfigError, loadConfig } from './config/config.ts';
import { registerAgentController } from './controllers/agent/register.ts';
import { registerPolicyController } from './controllers/policy/register.ts';
import { pluginsOf } from './controllers/plugins/host.ts';
import { registerPluginHost, registerWebhookClient } from './controllers/plugins/register.ts';
import { registerTaskController } from './controllers/task/register.ts';
import { builtinRegistry } from './builtin-registry.ts';
import { loadPluginModules } from './plugin-modules.ts';
import { systemClock } from './runtime/clock.ts';
import { Manager } from './runtime/manager.ts';
import { loadClusterAccess } from './runtime/rest/kubeconfig/load.ts';
import { createLogger } from './telemetry/logger.ts';

// Composition root: configuration, logger, API access, caches and controllers.
async function main(): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config);
  const { access, source, context, clientNodeFor } = await loadClusterAccess({ env: config.kubeEnvironment, context: config.kubeContext });
  logger.info(
    { server: access.server, kubeconfig: source, context, clientNodeFor, identity: config.identity, leaderElect: config.leaderElect },
    'starting agent-orchestrator',
  );

  // Out-of-tree plugins (--plugin) join the built-in ones before anything starts.
  const { registry, loaded } = await loadPluginModules(builtinRegistry(), config.plugins);
  for (const p of loaded) logger.info(p, 'loaded plugin');

  const manager = new Manager({ config, kubeConfig: access, logger });
  const plugins = pluginsOf(registry, manager.metrics.registry, config.pluginTimeBudgetMs);
  registerAgentController(manager, { config, logger, clock: systemClock });
  registerTaskController(manager, { config, logger, clock: systemClock, plugins });
  registerPolicyController(manager, { logger, clock: systemClock, plugins });
  const webhooks = registerWebhookClient(manager, { logger, clock: systemClock, plugins });
  registerPluginHost(manager, { logger, clock: systemClock, plugins, deliver: webhooks.deliver });

  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    logger.info({ signal }, 'signal received');
    stop.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return manager.run(stop.signal);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`agent-orchestrator: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`agent-orchestrator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
