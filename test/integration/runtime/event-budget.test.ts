import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../operator/src/config/config.ts';
import { Manager } from '../../../operator/src/runtime/manager.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { ConfigMaps, collectionPath, objectPath } from '../../../operator/src/runtime/rest/resource.ts';
import { adminKubeConfig, useNamespace } from '../../support/kube.ts';
import { metricValue, testClient, testLogger, testMetrics } from '../../support/runtime.ts';

const client = testClient();

// Found by the fuzzer (docs/reliability.md): Events and the router's "why it waits"
// reports shared one budget, and a burst of Events held the reports for minutes.
describe('Event budget', () => {
  const ns = useNamespace('event-budget-');

  it('drops Events past its backlog and never holds a task report behind them', async () => {
    const config = parseConfig([], {
      AO_WATCH_NAMESPACES: ns.name,
      AO_HEALTH_PROBE_BIND_ADDRESS: '0',
      AO_METRICS_BIND_ADDRESS: '0',
      AO_LEADER_ELECT: 'false',
    });
    const metrics = testMetrics();
    const manager = new Manager({ config, kubeConfig: adminKubeConfig(), logger: testLogger(), metrics });
    // Run (with nothing to run) only so that its stop closes the clients.
    const stop = new AbortController();
    const exit = manager.run(stop.signal);
    const subject = await client.request<KubeObject>('POST', collectionPath(ConfigMaps, ns.name), {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'subject' } },
    });
    // 300 distinct Events at once: a burst of 50, then 20 a second; 200 may wait, the rest are dropped.
    const burst = Array.from({ length: 300 }, (_, i) => manager.events.record(subject, 'Normal', 'Burst', 'Test', `event ${i}`));
    const eventsSent = (): Promise<number> =>
      metricValue(metrics, 'agent_orchestrator_client_requests_total', { client: 'events', verb: 'POST' });
    await manager.reportingClient.request('PATCH', objectPath(ConfigMaps, ns.name, 'subject'), {
      body: { data: { report: 'why it waits' } },
      contentType: 'application/merge-patch+json',
    });
    // On a shared budget the report was sent only after all 200 Events queued before it.
    expect(await eventsSent()).toBeLessThan(200);
    await Promise.all(burst);
    expect(await metricValue(metrics, 'agent_orchestrator_events_dropped_total', { reason: 'backlog' })).toBe(100);
    expect(await eventsSent()).toBe(200);
    stop.abort();
    expect(await exit).toBe(0);
  }, 60_000);
});
