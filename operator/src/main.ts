import { taskKind } from './api/kinds.ts';
import { ConfigError, loadConfig } from './config/config.ts';
import { systemClock } from './runtime/clock.ts';
import { Manager } from './runtime/manager.ts';
import { CredentialsError, checkCredentials } from './runtime/rest/credentials.ts';
import { loadClusterAccess } from './runtime/rest/kubeconfig/load.ts';
import { resourceOfKind } from './runtime/rest/resource.ts';
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

  const manager = new Manager({ config, kubeConfig: access, logger });
  // Alongside the prefetch, not before it: a start with good credentials waits for nothing.
  const verified = checkCredentials(manager.client, { server: access.server, source, context });
  verified.catch(() => undefined); // awaited below; this only keeps a failure from being unhandled meanwhile
  // The Task cache takes longest to fill (10,000 Tasks: the API server streams for ~0.6 s
  // on two cores): its watch-list opens before the controllers' and plugins' modules load
  // (~0.1 s), which is why they are imported here and not above.
  await manager.prefetch(resourceOfKind(taskKind));
  try {
    await verified;
    const { registerControllers } = await import('./register-controllers.ts');
    await registerControllers(manager, { config, logger, clock: systemClock });
  } catch (err) {
    // The prefetched watch would keep the process alive.
    await manager.client.close();
    throw err;
  }

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
    if (err instanceof CredentialsError) {
      process.stderr.write(`agent-orchestrator: ${err.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`agent-orchestrator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
