import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, WORKLOAD_FINALIZER } from '../../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import { grantsOf } from '../../../operator/src/runtimes/kubernetes/agent-role.ts';
import { systemClock } from '../../../operator/src/runtime/clock.ts';
import { isNotFound } from '../../../operator/src/runtime/errors.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { Pods, collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { Heartbeat, newRunnerIdentity } from '../../../runner/heartbeat.ts';
import { installCrds } from '../../support/crds.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient, testLogger } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);

type Condition = { type: string; status: string; reason: string; message: string };
type AgentObj = KubeObject & {
  spec: Record<string, unknown>;
  status?: { phase?: string; conditions?: Condition[]; workload?: { kind: string; name: string }; activeTasks?: number };
};

describe('Agents of runtime kubernetes', () => {
  beforeAll(installCrds);
  const ns = useNamespace('agents-k8s-');
  let operator: RunningOperator | undefined;
  beforeAll(async () => {
    operator = await startOperator(ns.name, { AO_AGENT_DRAIN_GRACE: '60' });
  });
  afterAll(async () => {
    await operator?.stop();
  });

  const get = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));
  const pod = (name: string): Promise<KubeObject | undefined> =>
    client.request<KubeObject>('GET', objectPath(Pods, ns.name, `agent-${name}`)).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  const phaseIs = (name: string, phase: string) => async (): Promise<AgentObj | undefined> => {
    const a = await get(name);
    return a.status?.phase === phase ? a : undefined;
  };
  const condition = (a: AgentObj, type: string): Condition | undefined => a.status?.conditions?.find((c) => c.type === type);
  const patchSpec = (name: string, spec: Record<string, unknown>): Promise<unknown> =>
    client.request('PATCH', objectPath(Agents, ns.name, name), { body: { spec }, contentType: 'application/merge-patch+json' });

  async function createAgent(name: string, spec: Record<string, unknown> = {}): Promise<AgentObj> {
    return client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name },
        spec: {
          capabilities: ['code-review'],
          runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev', env: [{ name: 'MODE', value: 'test' }] },
          heartbeat: { intervalSeconds: 1, timeoutSeconds: 3 },
          ...spec,
        },
      },
    });
  }

  /** A test acting as the runner: renews the agent's Lease until stopped. */
  function beat(agent: AgentObj): AbortController {
    const stop = new AbortController();
    void new Heartbeat({
      client,
      namespace: ns.name,
      agent: agent.metadata.name ?? '',
      agentUid: agent.metadata.uid ?? '',
      identity: newRunnerIdentity(agent.metadata.name ?? ''),
      intervalMs: 1000,
      timeoutMs: 3000,
      clock: systemClock,
      logger: testLogger(),
    }).run(stop.signal);
    return stop;
  }

  it('runs a hardened Pod owned by the Agent, and is Ready once the runner beats', async () => {
    const agent = await createAgent('reviewer');
    const running = await waitFor('the Pod to run on a kwok node', async () => {
      const p = await pod('reviewer');
      return (p?.status as { phase?: string } | undefined)?.phase === 'Running' ? p : undefined;
    });
    const podSpec = running.spec as {
      nodeName: string;
      serviceAccountName: string;
      securityContext: Record<string, unknown>;
      containers: { image: string; env: { name: string; value?: string }[]; securityContext: Record<string, unknown> }[];
    };
    expect(running.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'Agent',
      name: 'reviewer',
      uid: agent.metadata.uid,
      controller: true,
    });
    expect(podSpec.nodeName).toMatch(/^kwok-node-/);
    // Its own ServiceAccount, bound to its own Role, which names its Lease, its Agent and
    // later its Tasks (ADR 0016).
    expect(podSpec.serviceAccountName).toBe('agent-reviewer');
    const rolebinding = await client.request<KubeObject & { roleRef: { name: string }; subjects: { kind: string; name: string }[] }>(
      'GET',
      `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings/agent-reviewer`,
    );
    expect(rolebinding.roleRef.name).toBe('agent-reviewer');
    expect(rolebinding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'agent-reviewer', namespace: ns.name }]);
    const role = await waitFor('the agent’s Role', () =>
      client
        .request<KubeObject>('GET', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/roles/agent-reviewer`)
        .catch(() => undefined),
    );
    expect(grantsOf(role)).toEqual({ read: [], write: [] });
    expect(podSpec.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(podSpec.containers[0]?.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
    expect(podSpec.containers[0]?.env).toEqual([
      { name: 'AGENT_NAME', value: 'reviewer' },
      { name: 'AGENT_NAMESPACE', value: ns.name },
      { name: 'MODE', value: 'test' },
    ]);
    const starting = await waitFor('Starting, waiting for a heartbeat', phaseIs('reviewer', 'Starting'));
    expect(condition(starting, 'Ready')?.reason).toBe('WaitingForHeartbeat');
    expect((await get('reviewer')).metadata.finalizers).toContain(WORKLOAD_FINALIZER);

    const heart = beat(agent);
    const ready = await waitFor('Ready', phaseIs('reviewer', 'Ready'));
    expect(condition(ready, 'Ready')).toMatchObject({ status: 'True', reason: 'HeartbeatRenewed' });
    expect(condition(ready, 'Healthy')?.status).toBe('True');
    expect(ready.status?.workload).toMatchObject({ kind: 'Pod', name: 'agent-reviewer' });

    // The runner stops beating: the agent turns unhealthy because its heartbeat expired.
    heart.abort();
    const unhealthy = await waitFor(
      'Healthy=False',
      async () => {
        const a = await get('reviewer');
        return condition(a, 'Healthy')?.status === 'False' ? a : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(condition(unhealthy, 'Healthy')?.reason).toBe('HeartbeatExpired');
    expect(condition(unhealthy, 'Healthy')?.message).toMatch(/^no heartbeat since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, timeout 3s$/);
    expect(unhealthy.status?.phase).toBe('Failed');
  });

  it('sleeps (Pod gone, Agent kept), wakes (new Pod), and rolls a changed spec', async () => {
    const agent = await createAgent('sleeper');
    const heart = beat(agent);
    await waitFor('Ready', phaseIs('sleeper', 'Ready'));
    const firstPod = await pod('sleeper');

    await patchSpec('sleeper', { desiredState: 'Sleeping' });
    const asleep = await waitFor('Sleeping', phaseIs('sleeper', 'Sleeping'));
    expect(await pod('sleeper')).toBeUndefined();
    expect(condition(asleep, 'Ready')?.reason).toBe('Sleeping');

    await patchSpec('sleeper', { desiredState: 'Active' });
    const woken = await waitFor('a new Pod', async () => {
      const p = await pod('sleeper');
      return p && p.metadata.uid !== firstPod?.metadata.uid ? p : undefined;
    });
    await waitFor('Ready again', phaseIs('sleeper', 'Ready'));

    await patchSpec('sleeper', { runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:v2' } });
    const rolled = await waitFor('a Pod with the new image', async () => {
      const p = await pod('sleeper');
      const image = (p?.spec as { containers: { image: string }[] } | undefined)?.containers[0]?.image;
      return p && p.metadata.uid !== woken.metadata.uid && image === 'agent-orchestrator/runner:v2' ? p : undefined;
    });
    expect(rolled.metadata.annotations?.['agents.orchestrator.dev/spec-hash']).not.toBe(
      woken.metadata.annotations?.['agents.orchestrator.dev/spec-hash'],
    );
    heart.abort();
  });

  it('drains running tasks before sleeping, within the grace period', async () => {
    const agent = await createAgent('drainer', { capabilities: ['drain-test'] });
    const heart = beat(agent);
    await waitFor('Ready', phaseIs('drainer', 'Ready'));
    // The task controller routes the task here; the test plays the runner that starts it.
    await client.request<KubeObject>('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name: 'long-job' }, spec: { requiredCapabilities: ['drain-test'] } },
    });
    const assigned = await waitFor('the task assigned to the drainer', async () => {
      const t = await client.request<KubeObject & { status?: { phase?: string; assignment?: { agent: string } } }>(
        'GET',
        objectPath(Tasks, ns.name, 'long-job'),
      );
      return t.status?.phase === 'Assigned' && t.status.assignment?.agent === 'drainer' ? t : undefined;
    });
    await client.request('PUT', `${objectPath(Tasks, ns.name, 'long-job')}/status`, {
      body: {
        ...assigned,
        status: { ...assigned.status, phase: 'Running', startedAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') },
      },
    });
    await waitFor('Busy', phaseIs('drainer', 'Busy'));

    await patchSpec('drainer', { desiredState: 'Sleeping' });
    const draining = await waitFor('Draining', phaseIs('drainer', 'Draining'));
    expect(condition(draining, 'Ready')?.message).toMatch(/going to sleep: waiting for 1 running task/);
    expect(await pod('drainer')).toBeDefined();

    const running = await client.request<KubeObject>('GET', objectPath(Tasks, ns.name, 'long-job'));
    await client.request('PUT', `${objectPath(Tasks, ns.name, 'long-job')}/status`, {
      body: { ...running, status: { ...(running.status as object), phase: 'Succeeded' } },
    });
    await waitFor('Sleeping once the task is done', phaseIs('drainer', 'Sleeping'));
    expect(await pod('drainer')).toBeUndefined();
    heart.abort();
  });

  it('deletes the Pod before the Agent goes', async () => {
    await createAgent('doomed');
    await waitFor('a Pod', () => pod('doomed'));
    await client.request('DELETE', objectPath(Agents, ns.name, 'doomed'));
    await waitFor('the Agent to be gone', async () =>
      (await client.request('GET', objectPath(Agents, ns.name, 'doomed')).then(
        () => false,
        (err: unknown) => isNotFound(err),
      ))
        ? true
        : undefined,
    );
    expect(await pod('doomed')).toBeUndefined();
  });
});
