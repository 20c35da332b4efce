import type { Logger } from 'pino';
import type { Config } from './config/config.ts';
import { registerAgentController } from './controllers/agent/register.ts';
import { registerPolicyController } from './controllers/policy/register.ts';
import { pluginsOf } from './controllers/plugins/host.ts';
import { registerPluginHost, registerWebhookClient } from './controllers/plugins/register.ts';
import { registerTaskController } from './controllers/task/register.ts';
import { builtinRegistry } from './builtin-registry.ts';
import { loadPluginModules } from './plugin-modules.ts';
import type { Clock } from './runtime/clock.ts';
import type { Manager } from './runtime/manager.ts';

/** The plugins (built-in and --plugin modules) and every controller, registered with the manager. */
export async function registerControllers(manager: Manager, o: { config: Config; logger: Logger; clock: Clock }): Promise<void> {
  const { config, logger, clock } = o;
  // Out-of-tree plugins (--plugin) join the built-in ones before anything starts.
  const { registry, loaded } = await loadPluginModules(builtinRegistry(), config.plugins);
  for (const p of loaded) logger.info(p, 'loaded plugin');

  const plugins = pluginsOf(registry, manager.metrics.registry, config.pluginTimeBudgetMs);
  registerAgentController(manager, { config, logger, clock });
  registerTaskController(manager, { config, logger, clock, plugins });
  registerPolicyController(manager, { logger, clock, plugins });
  const webhooks = registerWebhookClient(manager, { logger, clock, plugins });
  registerPluginHost(manager, { logger, clock, plugins, deliver: webhooks.deliver });
}
