import { afterAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind } from '../../../operator/src/api/kinds.ts';
import { systemClock } from '../../../operator/src/runtime/clock.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { reportUsage } from '../../../runner/usage.ts';
import { installCrds } from '../../support/crds.ts';
import { useNamespace } from '../../support/kube.ts';
import { testClient, testLogger } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
type Usage = { cpuMillicores: number; memoryBytes: number; source: string; observedAt: string };

describe('the runner’s resource report', () => {
  const ns = useNamespace('usage-');
  const stop = new AbortController();
  afterAll(() => {
    stop.abort();
  });

  it('writes status.resources that the Agent schema accepts, with this machine’s figures, once per interval', async () => {
    await installCrds();
    await client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name: 'measured' },
        spec: { capabilities: ['x'], runtime: { type: 'kubernetes', image: 'img' } },
      },
    });
    const reporting = reportUsage(
      { client, namespace: ns.name, agent: 'measured', intervalMs: 300, clock: systemClock, logger: testLogger() },
      stop.signal,
    );
    const seen = new Set<string>();
    const usage = await waitFor(
      'two reports',
      async () => {
        const a = await client.request<KubeObject & { status?: { resources?: Usage } }>('GET', objectPath(Agents, ns.name, 'measured'));
        const r = a.status?.resources;
        if (r) seen.add(`${r.observedAt}/${r.memoryBytes}/${r.cpuMillicores}`);
        return seen.size >= 2 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(['cgroup', 'process']).toContain(usage.source);
    expect(usage.memoryBytes).toBeGreaterThan(1024 * 1024);
    expect(usage.cpuMillicores).toBeGreaterThanOrEqual(0);
    stop.abort();
    await reporting;
  });
});
