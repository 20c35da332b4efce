import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION, POOL_LABEL } from '../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { useNamespace } from '../test/support/kube.ts';
import { PodFleet, type Behaviour } from '../test/support/pod-fleet.ts';
import { testClient } from '../test/support/runtime.ts';
import { waitFor } from '../test/support/wait.ts';
import { helmInstall, restartHostOperator } from './support/cluster.ts';
import { agentClient } from '../test/support/identities.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const Policies = resourceOfKind(policyKind);
// On kind the real runner runs in the Pods: a slow command keeps tasks in flight across
// the upgrade there, as the held simulated runners do locally.
const SLOW = [{ name: 'RUNNER_COMMAND', value: '["sh","-c","sleep 20; cat"]' }];
type TaskObj = KubeObject & { status?: { phase?: string; history?: { agent: string; outcome: string }[] } };

describe('helm upgrade reconfigures the operator without losing tasks', () => {
  const ns = useNamespace('e2e-upgrade-');
  let fleet: PodFleet | undefined;
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  // Every task holds its agent until the upgrade is done.
  const hold: Behaviour = async (task) => {
    await released;
    return { outcome: 'Succeeded', output: `done ${task.name}`, reason: 'exit code 0', exitCode: 0 };
  };
  beforeAll(async () => {
    const e2e = inject('e2e');
    if (e2e.mode === 'local') fleet = new PodFleet(client, ns.name, hold, (name) => agentClient(client, e2e.kubeconfig, ns.name, name));
  });
  afterAll(async () => {
    release();
    await fleet?.stop();
  });

  it('applies changed values and policies, and every task in flight still ends once', async () => {
    const e2e = inject('e2e');
    await client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name: 'steady' },
        spec: {
          capabilities: ['work'],
          runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev', env: SLOW },
          heartbeat: { intervalSeconds: 2, timeoutSeconds: 10 },
          maxConcurrentTasks: 2,
        },
      },
    });
    const names = ['t1', 't2', 't3', 't4'];
    for (const name of names) {
      await client.request('POST', collectionPath(Tasks, ns.name), {
        body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: ['work'] } },
      });
    }
    const phases = async (): Promise<string[]> =>
      (await client.request<ObjectList<TaskObj>>('GET', collectionPath(Tasks, ns.name))).items.map((t) => t.status?.phase ?? '');
    await waitFor(
      'two running, two waiting',
      async () => {
        const p = (await phases()).sort().join(',');
        return p === 'Pending,Pending,Running,Running' ? true : undefined;
      },
      { timeoutMs: 90_000 },
    );

    // New values: more logging, and a policy with a pool for this namespace.
    const policy = {
      name: 'default',
      namespace: ns.name,
      spec: {
        autoscaling: {
          pools: [
            {
              name: 'extra',
              minAgents: 1,
              maxAgents: 2,
              template: {
                capabilities: ['work'],
                runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev', env: SLOW },
                heartbeat: { intervalSeconds: 2, timeoutSeconds: 10 },
              },
            },
          ],
        },
      },
    };
    helmInstall(e2e, ['--set', 'logging.level=debug', '--set-json', `policies=${JSON.stringify([policy])}`]);
    await restartHostOperator(e2e);
    const deployment = await client.request<KubeObject & { spec: { template: { spec: { containers: { args: string[] }[] } } } }>(
      'GET',
      `/apis/apps/v1/namespaces/${e2e.release.namespace}/deployments/${e2e.release.name}-agent-orchestrator`,
    );
    expect(deployment.spec.template.spec.containers[0]?.args).toContain('--log-level=debug');

    // The policy from values is in force: its pool adds an agent, which takes work.
    await waitFor(
      'the policy Ready',
      async () => {
        const p = await client.request<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(
          'GET',
          objectPath(Policies, ns.name, 'default'),
        );
        return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    await waitFor(
      'the pool agent Ready',
      async () => {
        const list = await client.request<ObjectList>('GET', collectionPath(Agents, ns.name), {
          query: { labelSelector: `${POOL_LABEL}=extra` },
        });
        return list.items.some(
          (a) =>
            (a.status as { phase?: string } | undefined)?.phase === 'Busy' ||
            (a.status as { phase?: string } | undefined)?.phase === 'Ready',
        )
          ? true
          : undefined;
      },
      { timeoutMs: 90_000 },
    );

    release();
    const done = await waitFor(
      'all four Succeeded',
      async () => {
        const list = (await client.request<ObjectList<TaskObj>>('GET', collectionPath(Tasks, ns.name))).items;
        return list.length === 4 && list.every((t) => t.status?.phase === 'Succeeded') ? list : undefined;
      },
      { timeoutMs: 90_000 },
    );
    for (const t of done) expect(t.status?.history?.map((h) => h.outcome)).toEqual(['Succeeded']);
  });
});
