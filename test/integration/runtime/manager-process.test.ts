import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { Leases, objectPath } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { CoreV1Api } from '@kubernetes/client-node';
import { adminKubeConfig, grantRole, serviceAccountKubeconfig, useNamespace } from '../../support/kube.ts';
import { OperatorProcess } from '../../support/operator-process.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();

describe('the operator process', () => {
  beforeAll(installCrds);
  const ns = useNamespace('manager-');
  const processes: OperatorProcess[] = [];
  afterEach(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
  });
  const start = (env: Record<string, string>): OperatorProcess => {
    const p = new OperatorProcess({ AO_LEADER_ELECTION_NAMESPACE: ns.name, ...env });
    processes.push(p);
    return p;
  };

  it('serves probes and metrics, becomes ready once its caches sync, and shuts down cleanly on SIGTERM', async () => {
    const op = start({ AO_LEADER_ELECTION_ID: 'manager-graceful', AO_IDENTITY: 'op-graceful' });
    expect((await op.get('/healthz')).status).toBe(200);
    const ready = await waitFor('/readyz to answer 200', async () => {
      const r = await op.get('/readyz');
      return r.status === 200 ? r : undefined;
    });
    expect(ready.body).toBe('ok');
    await op.waitForLog('caches synced', (l) => l.msg === 'caches synced');

    await op.waitForLog('leadership', (l) => l.msg === 'became leader');
    const metrics = (await op.get('/metrics')).body;
    for (const name of [
      'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_time_seconds',
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_queue_duration_seconds',
      'workqueue_work_duration_seconds',
      'workqueue_retries_total',
      'rest_client_requests_total',
      'agent_orchestrator_watch_restarts_total',
      'process_resident_memory_bytes',
    ]) {
      expect(metrics).toContain(`# TYPE ${name} `);
    }
    expect(metrics).toContain('leader_election_master_status{name="manager-graceful"} 1');
    expect(metrics).toMatch(/agent_orchestrator_informer_objects\{resource="tasks\.agents\.orchestrator\.dev"\} \d+/);
    // The Task cache's watch-list, opened before the controllers' modules loaded, is the
    // one its informer took over: one watch of tasks, not two.
    expect(metrics).toMatch(/agent_orchestrator_client_requests_total\{client="main",verb="WATCH",resource="tasks"\} 1\n/);

    op.kill('SIGTERM');
    expect(await op.exited).toEqual({ code: 0, signal: null });
    expect(op.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['signal received', 'released the leader lease', 'stopped']));
    const lease = await client.request<KubeObject & { spec: { holderIdentity?: string } }>(
      'GET',
      objectPath(Leases, ns.name, 'manager-graceful'),
    );
    expect(lease.spec.holderIdentity ?? '').toBe('');
  });

  it('stays unready while its caches cannot sync, says which, and recovers without a restart', async () => {
    // A namespace-scoped operator whose ServiceAccount has no role yet: every list is 403.
    const core = adminKubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns.name, body: { metadata: { name: 'operator' } } });
    const op = start({
      KUBECONFIG: await serviceAccountKubeconfig(ns.name, 'operator'),
      AO_LEADER_ELECT: 'false',
      AO_WATCH_NAMESPACES: ns.name,
    });
    await op.waitForLog('a failed list', (l) => typeof l.msg === 'string' && l.msg.startsWith('list failed'));
    const unready = await op.get('/readyz');
    expect(unready.status).toBe(503);
    expect(unready.body).toContain('informer agents.agents.orchestrator.dev not synced');

    // What the operator's caches read: its three kinds, agent Pods, heartbeat Leases and agent Roles.
    await grantRole(ns.name, 'operator', 'operator', [
      { apiGroups: ['agents.orchestrator.dev'], resources: ['agents', 'tasks', 'orchestratorpolicies'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['list', 'watch'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['list', 'watch'] },
    ]);
    await waitFor('/readyz to turn 200 once the role exists', async () => ((await op.get('/readyz')).status === 200 ? true : undefined), {
      timeoutMs: 90_000,
    });
    await op.waitForLog('caches synced', (l) => l.msg === 'caches synced');
  });

  it('exits 2 naming the setting when the configuration is invalid', async () => {
    const op = start({ AO_LEADER_ELECT_LEASE_DURATION: '5', AO_LEADER_ELECT_RENEW_DEADLINE: '8' });
    expect((await op.exited).code).toBe(2);
    expect(op.stderr.join('\n')).toMatch(
      /--leader-elect-lease-duration \/ AO_LEADER_ELECT_LEASE_DURATION: must be greater than the renew deadline/,
    );
  });
});
