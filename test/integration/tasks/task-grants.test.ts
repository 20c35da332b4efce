import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import { ApiError } from '../../../operator/src/runtime/errors.ts';
import type { RestClient } from '../../../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { Roles, collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import type { TaskGrants } from '../../../operator/src/core/task-grants.ts';
import { grantsOf } from '../../../operator/src/runtimes/kubernetes/agent-role.ts';
import type { TaskInput } from '../../../runner/executors/executor.ts';
import { chartOperatorIdentity } from '../../support/chart-rbac.ts';
import { installCrds } from '../../support/crds.ts';
import { agentClient } from '../../support/identities.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { PodFleet } from '../../support/pod-fleet.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const OPERATOR = 'operator';

type TaskObj = KubeObject & { status?: { phase?: string; assignment?: { agent: string } } };

async function refusal(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

describe('task isolation: each agent reads only its own Tasks (ADR 0016)', () => {
  beforeAll(installCrds);
  const ns = useNamespace('task-grants-');
  let operator: RunningOperator | undefined;
  let fleet: PodFleet;
  let alice: RestClient;
  // Each task runs until the test lets it finish; what each run was given is kept.
  const gates = new Map<string, PromiseWithResolvers<undefined>>();
  const gate = (name: string): PromiseWithResolvers<undefined> => {
    let g = gates.get(name);
    if (!g) gates.set(name, (g = Promise.withResolvers<undefined>()));
    return g;
  };
  const inputs = new Map<string, TaskInput>();
  let kubeConfig: KubeConfig;
  const startAs = (): Promise<RunningOperator> =>
    startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' }, [], kubeConfig);

  beforeAll(async () => {
    // Under the chart's rules, not as admin: RBAC lets only who holds a permission grant
    // it, so this proves the operator may write the Roles it writes.
    kubeConfig = (await chartOperatorIdentity(client, inject('kubeconfig'), ns.name, OPERATOR)).kubeConfig;
    operator = await startAs();
    fleet = new PodFleet(
      client,
      ns.name,
      async (task, _agent, signal) => {
        inputs.set(task.name, task);
        // A task deleted while it runs is given up, as a real agent's would be.
        const stopped = new Promise<'stopped'>((resolve) => {
          signal.addEventListener('abort', () => {
            resolve('stopped');
          });
        });
        if ((await Promise.race([gate(task.name).promise, stopped])) === 'stopped')
          return { outcome: 'Cancelled', output: '', reason: 'stopped' };
        return { outcome: 'Succeeded', output: `${task.name} done`, reason: 'exit code 0', exitCode: 0 };
      },
      // Each runner acts as its Pod would: its agent's own ServiceAccount.
      (name) => agentClient(client, inject('kubeconfig'), ns.name, name),
    );
    for (const [name, capability] of [
      ['alice', 'a'],
      ['bob', 'b'],
    ] as const) {
      await client.request('POST', collectionPath(Agents, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Agent',
          metadata: { name },
          spec: {
            capabilities: [capability],
            runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
            heartbeat: { intervalSeconds: 1, timeoutSeconds: 5 },
          },
        },
      });
    }
    alice = await waitFor('alice’s Pod, whose token is her identity', () => agentClient(client, inject('kubeconfig'), ns.name, 'alice'));
  });
  afterAll(async () => {
    for (const g of gates.values()) g.resolve(undefined);
    await fleet.stop();
    await alice.close();
    await operator?.stop();
  });

  const task = (name: string, spec: Record<string, unknown>): Promise<unknown> =>
    client.request('POST', collectionPath(Tasks, ns.name), { body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec } });
  const phaseOf = async (name: string): Promise<string | undefined> =>
    (await client.request<TaskObj>('GET', objectPath(Tasks, ns.name, name))).status?.phase;
  const inPhase = (name: string, phase: string): Promise<true> =>
    waitFor(`${name} ${phase}`, async () => ((await phaseOf(name)) === phase ? true : undefined), {
      timeoutMs: 90_000,
      describe: async () => {
        const all = await client.request<{ items: TaskObj[] }>('GET', collectionPath(Tasks, ns.name));
        return JSON.stringify(all.items.map((t) => [t.metadata.name, t.status?.phase, t.status?.assignment]));
      },
    });
  const grants = async (agent: string): Promise<TaskGrants> =>
    grantsOf(await client.request<KubeObject>('GET', objectPath(Roles, ns.name, `agent-${agent}`)));
  const grantsBecome = (agent: string, want: TaskGrants): Promise<true> =>
    waitFor(
      `agent-${agent} naming ${JSON.stringify(want)}`,
      async () => (JSON.stringify(await grants(agent)) === JSON.stringify(want) ? true : undefined),
      {
        describe: async () => JSON.stringify(await grants(agent)),
      },
    );

  it('runs alice’s task under her identity, and refuses her bob’s task by name, in a list and in a watch', async () => {
    await task('a1', { requiredCapabilities: ['a'], input: 'alice only' });
    await task('b1', { requiredCapabilities: ['b'], input: 'bob only' });
    await inPhase('a1', 'Running');
    await inPhase('b1', 'Running');
    expect(inputs.get('a1')?.input).toBe('alice only');
    await grantsBecome('alice', { read: ['a1'], write: ['a1'] });
    await grantsBecome('bob', { read: ['b1'], write: ['b1'] });
    expect(await refusal(alice.request('GET', objectPath(Tasks, ns.name, 'b1')))).toBe(403);
    expect(await refusal(alice.request('GET', collectionPath(Tasks, ns.name)))).toBe(403);
    expect(await refusal(alice.request('GET', collectionPath(Tasks, ns.name), { query: { watch: 'true', timeoutSeconds: '1' } }))).toBe(
      403,
    );
    expect(await refusal(alice.request('GET', objectPath(Roles, ns.name, 'agent-bob')))).toBe(403);
    expect(await refusal(alice.request('GET', objectPath(Tasks, ns.name, 'a1')))).toBeUndefined();
  });

  it('lets alice read the task hers depends on, and prunes her finished task at her next assignment', async () => {
    gate('b1').resolve(undefined);
    await inPhase('b1', 'Succeeded');
    gate('a1').resolve(undefined);
    await inPhase('a1', 'Succeeded');
    // Created after b1 succeeded: it runs at once (it used to wait forever with no status).
    await task('a2', { requiredCapabilities: ['a'], dependsOn: ['b1'] });
    await inPhase('a2', 'Running');
    // b1 ran on bob: its result reached alice's runner because her Role names it, to read only.
    expect(inputs.get('a2')?.dependencies).toEqual({ b1: { output: 'b1 done', exitCode: 0 } });
    await grantsBecome('alice', { read: ['a2', 'b1'], write: ['a2'] });
    expect(
      await refusal(
        alice.request('PUT', `${objectPath(Tasks, ns.name, 'b1')}/status`, {
          body: await client.request('GET', objectPath(Tasks, ns.name, 'b1')),
        }),
      ),
    ).toBe(403);
  });

  it('takes a deleted task from the Role, also when it was deleted while the operator was down', async () => {
    expect(await operator?.stop()).toBe(0);
    operator = undefined;
    await client.request('DELETE', objectPath(Tasks, ns.name, 'a2'));
    await waitFor('a2 gone', async () =>
      (await refusal(client.request('GET', objectPath(Tasks, ns.name, 'a2')))) === 404 ? true : undefined,
    );
    // Nothing in memory survives: the new process finds the Role naming a Task that is no more.
    expect((await grants('alice')).write).toEqual(['a2']);
    operator = await startAs();
    await grantsBecome('alice', { read: [], write: [] });
    expect(await refusal(alice.request('GET', objectPath(Tasks, ns.name, 'a2')))).toBe(403);
  });

  it('makes an agent’s Role again when it is deleted by hand, and the agent runs its next task', async () => {
    const before = await client.request<KubeObject>('GET', objectPath(Roles, ns.name, 'agent-alice'));
    await client.request('DELETE', objectPath(Roles, ns.name, 'agent-alice'));
    await waitFor('a new Role agent-alice', async () => {
      const role = await client.request<KubeObject>('GET', objectPath(Roles, ns.name, 'agent-alice')).catch(() => undefined);
      return role && role.metadata.uid !== before.metadata.uid ? role : undefined;
    });
    await task('a3', { requiredCapabilities: ['a'] });
    await inPhase('a3', 'Running');
    await grantsBecome('alice', { read: ['a3'], write: ['a3'] });
  });
});

describe('an agent from before ADR 0016 (the shared account and Role) is moved onto its own', () => {
  beforeAll(installCrds);
  const ns = useNamespace('task-grants-upgrade-');
  let operator: RunningOperator | undefined;
  afterAll(async () => {
    await operator?.stop();
  });
  const RBAC = '/apis/rbac.authorization.k8s.io/v1/namespaces';
  type PodObj = KubeObject & { spec: { serviceAccountName: string } & Record<string, unknown> };

  it('rolls its Pod off the shared account and binds its account to its own Role', async () => {
    const kubeConfig = (await chartOperatorIdentity(client, inject('kubeconfig'), ns.name, OPERATOR)).kubeConfig;
    operator = await startOperator(ns.name, {}, [], kubeConfig);
    const agent = await client.request<KubeObject>('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name: 'carol' },
        spec: { capabilities: ['c'], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' } },
      },
    });
    const made = await waitFor('carol’s Pod', () =>
      client.request<PodObj>('GET', `/api/v1/namespaces/${ns.name}/pods/agent-carol`).catch(() => undefined),
    );
    expect(await operator.stop()).toBe(0);
    operator = undefined;

    // What an operator of ADR 0010 left: the same Pod on the shared account, and the
    // account agent-carol bound to the shared Role.
    await client.request('POST', `/api/v1/namespaces/${ns.name}/serviceaccounts`, { body: { metadata: { name: 'orchestrator-agents' } } });
    await client.request('DELETE', `/api/v1/namespaces/${ns.name}/pods/agent-carol`, { query: { gracePeriodSeconds: '0' } });
    await waitFor('the Pod gone', async () =>
      (await refusal(client.request('GET', `/api/v1/namespaces/${ns.name}/pods/agent-carol`))) === 404 ? true : undefined,
    );
    const old = await client.request<PodObj>('POST', `/api/v1/namespaces/${ns.name}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: 'agent-carol',
          labels: made.metadata.labels,
          annotations: made.metadata.annotations,
          ownerReferences: made.metadata.ownerReferences,
        },
        spec: { ...made.spec, serviceAccountName: 'orchestrator-agents', serviceAccount: 'orchestrator-agents', nodeName: undefined },
      },
    });
    await client.request('DELETE', `${RBAC}/${ns.name}/rolebindings/agent-carol`);
    await client.request('POST', `${RBAC}/${ns.name}/rolebindings`, {
      body: {
        metadata: {
          name: 'agent-carol',
          ownerReferences: [{ apiVersion: API_VERSION, kind: 'Agent', name: 'carol', uid: agent.metadata.uid }],
        },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'agent-orchestrator-agent' },
        subjects: [{ kind: 'ServiceAccount', name: 'agent-carol', namespace: ns.name }],
      },
    });

    operator = await startOperator(ns.name, {}, [], kubeConfig);
    const rolled = await waitFor(
      'a Pod on carol’s own account',
      async () => {
        const pod = await client.request<PodObj>('GET', `/api/v1/namespaces/${ns.name}/pods/agent-carol`).catch(() => undefined);
        return pod && pod.metadata.uid !== old.metadata.uid && !pod.metadata.deletionTimestamp ? pod : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(rolled.spec.serviceAccountName).toBe('agent-carol');
    const binding = await waitFor('the binding to carol’s own Role', async () => {
      const b = await client.request<KubeObject & { roleRef: { name: string } }>('GET', `${RBAC}/${ns.name}/rolebindings/agent-carol`);
      return b.roleRef.name === 'agent-carol' ? b : undefined;
    });
    expect(binding.metadata.ownerReferences?.[0]?.uid).toBe(agent.metadata.uid);
  });
});
