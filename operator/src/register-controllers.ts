import type { Logger } from 'pino';
import type { Config } from './config/config.ts';
import { registerAgentController } from './controllers/agent/register.ts';
import { registerPolicyController } from './controllers/policy/register.ts';
import { pluginsOf } from './controllers/plugins/host.ts';
import { registerPluginHost, registerWebhookClient } from './controllers/plugins/register.ts';
import { registerTaskController } from './controllers/task/register.ts';
import { builtinRegistry } from './builtin-registry.ts';
import { ConfigError } from './config/config.ts';
import { agentReviewsOf } from './framework/agent-review.ts';
import { loadPluginModules } from './plugin-modules.ts';
import type { Clock } from './runtime/clock.ts';
import type { Manager } from './runtime/manager.ts';
import { registerAuditWebhook } from './runtime/audit-webhook-runnable.ts';

/** The plugins (built-in and --plugin modules) and every controller, registered with the manager. */
export async function registerControllers(manager: Manager, o: { config: Config; logger: Logger; clock: Clock }): Promise<void> {
  const { config, logger, clock } = o;
  // Out-of-tree plugins (--plugin) join the built-in ones before anything starts.
  const { registry, loaded } = await loadPluginModules(builtinRegistry(), config.plugins);
  for (const p of loaded) logger.info(p, 'loaded plugin');

  // Operator-wide plugin settings are checked before anything starts, like the flags.
  const { reviews, errors } = agentReviewsOf(registry.plugins, config.pluginSettings);
  if (errors.length > 0) throw new ConfigError(`--plugin-settings / AO_PLUGIN_SETTINGS: ${errors.join('; ')}`);
  for (const r of reviews.plugins) logger.info({ plugin: r.name, enforcement: r.review.enforcement }, 'reviewing agents');

  const plugins = pluginsOf(registry, manager.metrics.registry, config.pluginTimeBudgetMs);
  registerAgentController(manager, { config, logger, clock, reviews });
  registerTaskController(manager, { config, logger, clock, plugins });
  registerPolicyController(manager, { logger, clock, plugins });
  const webhooks = registerWebhookClient(manager, { logger, clock, plugins });
  registerPluginHost(manager, { logger, clock, plugins, deliver: webhooks.deliver });
  registerAuditWebhook(manager, { config, logger, clock });
}
