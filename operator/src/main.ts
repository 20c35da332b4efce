import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { ConfigError, loadConfig } from './config/config.ts';
import { createLogger } from './telemetry/logger.ts';

// Composition root. Controllers are registered here as they land; today it proves the
// chain config -> logger -> API client works and reports the server it reached.
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const version = await kc.makeApiClient(VersionApi).getCode();
  logger.info({ server: kc.getCurrentCluster()?.server, version: version.gitVersion }, 'connected to the API server');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`agent-orchestrator: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`agent-orchestrator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
