import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import { ApiError } from '../../../operator/src/runtime/errors.ts';
import type { RestClient } from '../../../operator/src/runtime/rest/client.ts';
import { microTime, type KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { Leases, collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { chartOperatorIdentity } from '../../support/chart-rbac.ts';
import { installCrds } from '../../support/crds.ts';
import { agentClient } from '../../support/identities.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { PodFleet } from '../../support/pod-fleet.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

// A runner is code the operator does not control: it acts with its agent's own identity
// and may write anything that identity may write. Here one writes garbage into its
// Agent's status and takes its Lease for another process; the operator runs under the
// chart's RBAC. The operator must put back what it owns, report what it acts on, and lose
// no task.
const client = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);

type Condition = { type: string; status: string; reason: string; message: string };
type AgentObj = KubeObject & {
  status?: {
    phase?: string;
    activeTasks?: number;
    lastHeartbeatTime?: string;
    drainingSince?: string;
    conditions?: Condition[];
    workload?: { kind?: string; name?: string };
  };
};
type TaskObj = KubeObject & {
  status?: {
    phase?: string;
    assignment?: { agent: string; attempt: number };
    history?: { agent: string; outcome: string; reason?: string }[];
  };
};

async function refusal(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

const FUTURE = '2999-01-01T00:00:00Z';

describe('a runner that writes garbage or takes a Lease it does not own', () => {
  beforeAll(installCrds);
  const ns = useNamespace('hostile-runner-');
  let operator: RunningOperator | undefined;
  let fleet: PodFleet;
  let mallory: RestClient;
  // Tasks on mallory run until the test lets them go; elsewhere they succeed at once.
  const gates = new Map<string, PromiseWithResolvers<undefined>>();
  const gate = (name: string): PromiseWithResolvers<undefined> => {
    let g = gates.get(name);
    if (!g) gates.set(name, (g = Promise.withResolvers<undefined>()));
    return g;
  };

  beforeAll(async () => {
    const { kubeConfig } = await chartOperatorIdentity(client, inject('kubeconfig'), ns.name, 'operator');
    operator = await startOperator(ns.name, { AO_TASK_REASSIGN_DELAY: '1' }, [], kubeConfig);
    fleet = new PodFleet(
      client,
      ns.name,
      async (task, agent, signal) => {
        if (agent === 'mallory') {
          const stopped = new Promise<'stopped'>((resolve) => {
            signal.addEventListener('abort', () => {
              resolve('stopped');
            });
          });
          if ((await Promise.race([gate(task.name).promise, stopped])) === 'stopped')
            return { outcome: 'Cancelled', output: '', reason: 'stopped' };
        }
        return { outcome: 'Succeeded', output: `${task.name} on ${agent}`, reason: 'exit code 0', exitCode: 0 };
      },
      (name) => agentClient(client, inject('kubeconfig'), ns.name, name),
    );
    for (const name of ['mallory', 'bob']) {
      await client.request('POST', collectionPath(Agents, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Agent',
          metadata: { name },
          spec: {
            capabilities: [name === 'mallory' ? 'only-mallory' : 'only-bob', 'shared'],
            runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
            heartbeat: { intervalSeconds: 1, timeoutSeconds: 5 },
          },
        },
      });
    }
    mallory = await waitFor('mallory’s Pod, whose token is her identity', () =>
      agentClient(client, inject('kubeconfig'), ns.name, 'mallory'),
    );
    await Promise.all(['mallory', 'bob'].map((a) => phaseBecomes(a, ['Ready'])));
  });
  afterAll(async () => {
    for (const g of gates.values()) g.resolve(undefined);
    await fleet.stop();
    await mallory.close();
    await operator?.stop();
  });

  const agent = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));
  const task = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const createTask = (name: string, capability: string): Promise<unknown> =>
    client.request('POST', collectionPath(Tasks, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Task',
        metadata: { name },
        spec: { requiredCapabilities: [capability], timeoutSeconds: 600 },
      },
    });
  const phaseBecomes = (name: string, phases: string[]): Promise<AgentObj> =>
    waitFor(`agent ${name} ${phases.join(' or ')}`, async () => {
      const a = await agent(name);
      return phases.includes(a.status?.phase ?? '') ? a : undefined;
    });
  const taskIn = (name: string, phase: string): Promise<TaskObj> =>
    waitFor(
      `task ${name} ${phase}`,
      async () => {
        const t = await task(name);
        return t.status?.phase === phase ? t : undefined;
      },
      { timeoutMs: 90_000, describe: async () => JSON.stringify((await task(name)).status) },
    );
  const patchStatus = (who: RestClient, status: Record<string, unknown>): Promise<unknown> =>
    who.request('PATCH', objectPath(Agents, ns.name, 'mallory', 'status'), {
      body: { status },
      contentType: 'application/merge-patch+json',
    });

  it('cannot write a status of the wrong shape: the API server refuses it, naming the field', async () => {
    for (const garbage of [
      { activeTasks: 'lots' },
      { phase: 'Hacked' },
      { lastHeartbeatTime: 'yesterday' },
      { stats: { succeeded: -1 } },
    ]) {
      const err = await patchStatus(mallory, garbage).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, JSON.stringify(garbage)).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(422);
      expect((err as ApiError).message).toContain(`status.${Object.keys(garbage)[0] ?? ''}`);
    }
  });

  it('gets back what the operator owns when it writes schema-valid garbage, and its work goes on', async () => {
    await patchStatus(mallory, {
      phase: 'Sleeping',
      activeTasks: 1000,
      lastHeartbeatTime: FUTURE,
      drainingSince: FUTURE,
      workload: { kind: 'Container', name: 'evil', restarts: Number.MAX_SAFE_INTEGER },
      conditions: [
        { type: 'Ready', status: 'False', reason: 'Hacked', message: 'a runner wrote this', lastTransitionTime: FUTURE },
        { type: 'Healthy', status: 'False', reason: 'Hacked', message: 'a runner wrote this', lastTransitionTime: FUTURE },
      ],
      contextUsage: { tokens: Number.MAX_SAFE_INTEGER, percent: 100 },
      resources: { cpuMillicores: 10_000_000, memoryBytes: Number.MAX_SAFE_INTEGER, source: 'cgroup', observedAt: FUTURE },
    });
    // The phase, conditions, task count, workload and heartbeat time are the operator's: it
    // writes them again from what it sees (the Pod, the Lease, the Tasks).
    const restored = await waitFor(
      'mallory’s status as the operator sees her',
      async () => {
        const a = await agent('mallory');
        const s = a.status;
        const ready = s?.conditions?.find((c) => c.type === 'Ready');
        const ok =
          s?.phase === 'Ready' &&
          ready?.status === 'True' &&
          ready.reason !== 'Hacked' &&
          s.activeTasks === 0 &&
          s.workload?.kind === 'Pod' &&
          s.drainingSince === undefined &&
          s.lastHeartbeatTime !== undefined &&
          Date.parse(s.lastHeartbeatTime) <= Date.now() + 60_000;
        return ok ? a : undefined;
      },
      { timeoutMs: 30_000, describe: async () => JSON.stringify((await agent('mallory')).status) },
    );
    expect(restored.status?.conditions?.find((c) => c.type === 'Healthy')?.reason).not.toBe('Hacked');
    await createTask('after-garbage', 'only-mallory');
    gate('after-garbage').resolve(undefined);
    await taskIn('after-garbage', 'Succeeded');
  });

  it('cannot renew another agent’s Lease: RBAC refuses it', async () => {
    const bobs = await client.request<KubeObject & { spec: Record<string, unknown> }>('GET', objectPath(Leases, ns.name, 'agent-bob'));
    const forged = { ...bobs, spec: { ...bobs.spec, holderIdentity: 'mallory_forged', renewTime: microTime(Date.now()) } };
    expect(await refusal(mallory.request('PUT', objectPath(Leases, ns.name, 'agent-bob'), { body: forged }))).toBe(403);
    expect(
      (await client.request<{ spec: { holderIdentity?: string } }>('GET', objectPath(Leases, ns.name, 'agent-bob'))).spec.holderIdentity,
    ).not.toBe('mallory_forged');
  });

  it('hands back the attempt when its own Lease names a process that did not claim it: the task is queued again', async () => {
    await createTask('stolen', 'only-mallory');
    const running = await taskIn('stolen', 'Running');
    expect(running.status?.assignment?.agent).toBe('mallory');
    // The runner's identity may update its own Lease: it writes a holder that claimed
    // nothing. Its runner renews every second: retry on a conflict, as any Lease writer does.
    await waitFor('the forged holder written', async () => {
      const lease = await mallory.request<KubeObject & { spec: Record<string, unknown> }>(
        'GET',
        objectPath(Leases, ns.name, 'agent-mallory'),
      );
      const status = await refusal(
        mallory.request('PUT', objectPath(Leases, ns.name, 'agent-mallory'), {
          body: { ...lease, spec: { ...lease.spec, holderIdentity: 'intruder_00000000', renewTime: microTime(Date.now()) } },
        }),
      );
      if (status !== undefined && status !== 409) throw new Error(`writing its own Lease answered ${status}`);
      return status === undefined ? true : undefined;
    });
    const handedBack = await waitFor(
      'the attempt handed back',
      async () => {
        const t = await task('stolen');
        return t.status?.history?.find((h) => h.outcome === 'Lost') ? t : undefined;
      },
      { timeoutMs: 60_000, describe: async () => JSON.stringify((await task('stolen')).status) },
    );
    // The history says who holds the Lease now: the field a person would look at.
    expect(handedBack.status?.history?.find((h) => h.outcome === 'Lost')?.reason).toContain('intruder_00000000');
    // Not lost: back in the queue (only mallory can run it, and her runner has stopped).
    expect(['Pending', 'Assigned', 'Running']).toContain(handedBack.status?.phase);
    expect(handedBack.status?.assignment?.attempt ?? 0).not.toBe(running.status?.assignment?.attempt);
  });

  it('opens its own circuit when it reports failures that did not happen, and its tasks run elsewhere', async () => {
    await patchStatus(mallory, { stats: { succeeded: 0, failed: 0, consecutiveFailures: 999 } });
    const open = await waitFor(
      'mallory’s circuit open',
      async () => (await agent('mallory')).status?.conditions?.find((c) => c.type === 'CircuitOpen' && c.status === 'True'),
      { timeoutMs: 30_000 },
    );
    // The report names the count the circuit acts on, so whoever reads it can find the writer.
    expect(open.message).toContain('999 consecutive failures');
    await createTask('while-open', 'shared');
    const done = await taskIn('while-open', 'Succeeded');
    expect(done.status?.history?.at(-1)?.agent).toBe('bob');
  });
});
