import { pino, type Logger } from 'pino';
import { RestClient } from '../../operator/src/runtime/rest/client.ts';
import { createMetrics, type Metrics } from '../../operator/src/telemetry/metrics.ts';
import { adminKubeConfig } from './kube.ts';

/** Runtime logs are silent in tests unless AO_TEST_LOG names a level (AO_TEST_LOG=debug). */
export function testLogger(): Logger {
  return pino({ level: process.env.AO_TEST_LOG ?? 'silent' });
}

export function testMetrics(): Metrics {
  return createMetrics({ processMetrics: false });
}

/** The runtime's own REST client, as admin, against the test cluster. */
export function testClient(metrics?: Metrics): RestClient {
  return new RestClient(adminKubeConfig(), metrics ? { metrics: metrics.client } : {});
}

/** The value of a counter or gauge for the given labels (0 when never set). */
export async function metricValue(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const matching = (metric?.values ?? []).filter((v) =>
    Object.entries(labels).every(([k, value]) => String((v.labels as Record<string, unknown>)[k]) === value),
  );
  return matching.reduce((sum, v) => sum + v.value, 0);
}
