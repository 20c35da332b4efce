import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet, type Behaviour } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Policies = resourceOfKind(policyKind);

type Condition = { type: string; status: string; reason: string; message: string; lastTransitionTime: string };
type PolicyObj = KubeObject & { status?: { conditions?: Condition[] } };

describe('production-slo plugin on the real plane', () => {
  beforeAll(installCrds);
  const ns = useNamespace('slo-');
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  let failing = false;
  const behaviour: Behaviour = async (task) =>
    failing
      ? { outcome: 'Failed', output: '', reason: 'exit code 1', exitCode: 1 }
      : { outcome: 'Succeeded', output: task.name, reason: 'exit code 0', exitCode: 0 };
  // An Alertmanager-compatible receiver on loopback: what it was sent, in order.
  const alerts: {
    contentType: string | undefined;
    body: { status: string; alerts: { status: string; labels: Record<string, string> }[] };
  }[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      alerts.push({ contentType: req.headers['content-type'], body: JSON.parse(body) as (typeof alerts)[number]['body'] });
      res.writeHead(200).end();
    });
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${String((receiver.address() as AddressInfo).port)}/alerts`;
    fleet = new Fleet(client, ns.name);
    // No circuit breaker: the agent keeps taking the failing tasks.
    await fleet.policy({
      plugins: {
        'circuit-breaker': { enabled: false },
        'production-slo': {
          slos: [{ name: 'success', indicator: 'SuccessRatio', objectivePercent: 99 }],
          alertWebhook: { url, retries: 5 },
        },
      },
    });
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
    receiver.close();
  });

  const slo = async (): Promise<Condition | undefined> =>
    (await client.request<PolicyObj>('GET', objectPath(Policies, ns.name, 'default'))).status?.conditions?.find(
      (c) => c.type === 'SLOHealthy-success',
    );
  const ended = (name: string, phase: string) => async (): Promise<true | undefined> =>
    (await client.request<KubeObject & { status?: { phase?: string } }>('GET', objectPath(Tasks, ns.name, name))).status?.phase === phase
      ? true
      : undefined;
  const events = async (reason: string): Promise<number> => {
    const list = await client.request<ObjectList<KubeObject & { reason?: string; count?: number; involvedObject?: { kind?: string } }>>(
      'GET',
      `/api/v1/namespaces/${ns.name}/events`,
    );
    return list.items
      .filter((e) => e.involvedObject?.kind === 'OrchestratorPolicy' && e.reason === reason)
      .reduce((n, e) => n + (e.count ?? 1), 0);
  };

  it('is within budget while tasks succeed, burns fast when they fail, says so with an Event and to an Alertmanager receiver, and a restarted operator says the same', async () => {
    await fleet.agent('worker', { behaviour, maxConcurrentTasks: 4 });
    for (let i = 0; i < 3; i++) await fleet.task(`ok-${i}`, { retries: { max: 0 } });
    for (let i = 0; i < 3; i++) await waitFor(`ok-${i} done`, ended(`ok-${i}`, 'Succeeded'), { timeoutMs: 60_000 });
    const healthy = await waitFor('the SLO within budget with its 3 tasks', async () => {
      const c = await slo();
      return c?.status === 'True' ? c : undefined;
    });
    expect(healthy.message).toBe(
      '99% of tasks that end succeed: within budget (alerts above 14.4x over 1h and 5m, 6x over 6h and 30m); error budget left 100% of 30d (from the tasks the API server holds)',
    );

    // Every task now fails: 4 of 7 in the last 5 minutes and the hour, far above 14.4x a 1% budget.
    failing = true;
    for (let i = 0; i < 4; i++) await fleet.task(`bad-${i}`, { retries: { max: 0 } });
    for (let i = 0; i < 4; i++) await waitFor(`bad-${i} failed`, ended(`bad-${i}`, 'Failed'), { timeoutMs: 60_000 });
    const burning = await waitFor('the SLO burning fast', async () => {
      const c = await slo();
      return c?.reason === 'FastBurn' ? c : undefined;
    });
    expect(burning.status).toBe('False');
    expect(burning.message).toMatch(
      /^99% of tasks that end succeed: the error budget burns fast, over 14\.4x in the last hour and the last 5 minutes .*; error budget left 0% of 30d/,
    );
    expect(await waitFor('a Warning Event', async () => ((await events('SLOFastBurn')) === 1 ? true : undefined))).toBe(true);
    const fired = await waitFor('the alert at the receiver', async () => alerts[0]);
    expect(fired.contentType).toBe('application/json');
    expect(fired.body).toMatchObject({
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'AgentOrchestratorSLOFastBurn', slo: 'success', namespace: ns.name, severity: 'critical' },
        },
      ],
    });

    // The verdict comes from the Tasks: a new operator finds the same, and says nothing new.
    await operator?.stop();
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });
    await fleet.task('after-restart', { retries: { max: 0 } });
    await waitFor('after-restart failed', ended('after-restart', 'Failed'), { timeoutMs: 60_000 });
    expect(await slo()).toMatchObject({ reason: 'FastBurn', lastTransitionTime: burning.lastTransitionTime });
    expect(await events('SLOFastBurn')).toBe(1);
    expect(alerts).toHaveLength(1);
  });
});
