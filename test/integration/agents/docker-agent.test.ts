import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../../../operator/src/api/kinds.ts';
import { isNotFound } from '../../../operator/src/runtime/errors.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { dockerFromHost } from '../../support/docker.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const docker = dockerFromHost(inject('dockerHost'));
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const Policies = resourceOfKind(policyKind);
const RUNNER_IMAGE = 'agent-orchestrator/runner:dev';

type Condition = { type: string; status: string; reason: string; message: string };
type AgentObj = KubeObject & {
  status?: {
    phase?: string;
    conditions?: Condition[];
    workload?: { id?: string; restarts?: number; lastExit?: { reason: string; exitCode?: number; finishedAt: string } };
    stats?: { succeeded: number };
  };
};
type TaskObj = KubeObject & {
  status?: { phase?: string; result?: { output?: string; exitCode?: number }; history?: { agent: string; outcome: string }[] };
};

// The whole path with the REAL runner image: container, credentials, heartbeat, task execution.
describe('Agents of runtime docker, end to end', () => {
  beforeAll(installCrds);
  const ns = useNamespace('agents-docker-');
  let operator: RunningOperator | undefined;
  const env = (): Record<string, string> => ({
    AO_DOCKER_HOST: inject('dockerHost'),
    AO_AGENT_STARTUP_GRACE: '60',
    AO_AGENT_REMOVAL_TIMEOUT: '3',
  });
  beforeAll(async () => {
    operator = await startOperator(ns.name, env());
  });
  afterAll(async () => {
    await operator?.stop();
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`agents.orchestrator.dev/namespace=${ns.name}`] } });
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  });

  const get = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));
  const condition = (a: AgentObj, type: string): Condition | undefined => a.status?.conditions?.find((c) => c.type === type);
  const phaseIs = (name: string, phase: string) => async (): Promise<AgentObj | undefined> => {
    const a = await get(name);
    return a.status?.phase === phase ? a : undefined;
  };
  const containersOf = async (name: string): Promise<string[]> =>
    (
      await docker.listContainers({
        all: true,
        filters: { label: [`agents.orchestrator.dev/namespace=${ns.name}`, `agents.orchestrator.dev/name=${name}`] },
      })
    ).map((c) => c.Id);

  async function createAgent(name: string, runtime: Record<string, unknown>): Promise<AgentObj> {
    return client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name },
        spec: {
          capabilities: ['shell'],
          runtime: { type: 'docker', image: RUNNER_IMAGE, docker: { host: inject('dockerHost') }, ...runtime },
          heartbeat: { intervalSeconds: 1, timeoutSeconds: 4 },
        },
      },
    });
  }

  it('runs the runner in a container that beats, executes an assigned Task, survives kill and operator restart, and goes away', async () => {
    await createAgent('shell', { env: [{ name: 'RUNNER_COMMAND', value: 'tr a-z A-Z; echo "payload=$TASK_PAYLOAD"' }] });
    const ready = await waitFor('the runner to beat from inside its container', phaseIs('shell', 'Ready'), { timeoutMs: 90_000 });
    const [containerId] = await containersOf('shell');
    expect(ready.status?.workload?.id).toBe(containerId);

    // The task controller routes it to the only agent with the capability.
    await client.request<TaskObj>('POST', collectionPath(Tasks, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Task',
        metadata: { name: 'shout' },
        spec: { requiredCapabilities: ['shell'], input: 'hello agents\n', payload: { ticket: 42 } },
      },
    });
    const done = await waitFor(
      'the task to succeed',
      async () => {
        const t = await client.request<TaskObj>('GET', objectPath(Tasks, ns.name, 'shout'));
        return t.status?.phase === 'Succeeded' ? t : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(done.status?.result).toEqual({ output: 'HELLO AGENTS\npayload={"ticket":42}\n', exitCode: 0 });
    expect(done.status?.history?.map((h) => [h.agent, h.outcome])).toEqual([['shell', 'Succeeded']]);
    await waitFor('the Agent to count it', async () => ((await get('shell')).status?.stats?.succeeded === 1 ? true : undefined));
    // The command's output, line by line with the task's name, in the container's log (what `kubectl logs` shows for a Pod).
    const log = (await docker.getContainer(containerId ?? '').logs({ stdout: true, stderr: true, follow: false })).toString('utf8');
    const lines = log.split('\n').flatMap((l) => {
      const json = l.slice(l.indexOf('{'));
      try {
        return [JSON.parse(json) as { task?: string; stream?: string; msg?: string }];
      } catch {
        return [];
      }
    });
    expect(lines.filter((l) => l.task === `${ns.name}/shout` && l.stream === 'stdout').map((l) => l.msg)).toEqual([
      'HELLO AGENTS',
      'payload={"ticket":42}',
    ]);

    // docker kill: the heartbeat stops, the container is restarted with backoff.
    await docker.getContainer(containerId ?? '').kill();
    const killedAt = Date.now();
    const unhealthy = await waitFor(
      'Healthy=False after the kill',
      async () => {
        const a = await get('shell');
        return condition(a, 'Healthy')?.status === 'False' ? a : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(condition(unhealthy, 'Healthy')?.reason).toBe('HeartbeatExpired');
    const back = await waitFor('Ready again after the restart backoff', phaseIs('shell', 'Ready'), { timeoutMs: 90_000 });
    // The first restart waits 10 s after the exit (then 20 s, 40 s ... up to 5 min).
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(9_000);
    expect(await containersOf('shell')).toEqual([containerId]);
    expect(back.status?.workload?.restarts).toBe(0);

    // An operator restart adopts the container instead of making another.
    await operator?.stop();
    operator = await startOperator(ns.name, env());
    await waitFor('Ready under the new operator', phaseIs('shell', 'Ready'));
    expect(await containersOf('shell')).toEqual([containerId]);

    await client.request('DELETE', objectPath(Agents, ns.name, 'shell'));
    await waitFor(
      'the Agent and its container to be gone',
      async () => {
        const gone = await get('shell').then(
          () => false,
          (err: unknown) => isNotFound(err),
        );
        return gone && (await containersOf('shell')).length === 0 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
  });

  it('reports bad input as Failed with the reason, and keeps serving other agents', async () => {
    await createAgent('no-image', { image: 'agent-orchestrator/does-not-exist:1' });
    await createAgent('exits', {
      command: ['sh', '-c', 'echo "config file missing" >&2; exit 1'],
      image: 'agent-orchestrator/busybox:test',
    });
    await createAgent('no-engine', { docker: { host: 'unix:///tmp/agent-orchestrator-no-such-docker.sock' } });
    await createAgent('fine', {});

    const noImage = await waitFor('ImageNotFound', async () => {
      const a = await get('no-image');
      return condition(a, 'Ready')?.reason === 'ImageNotFound' ? a : undefined;
    });
    expect(noImage.status?.phase).toBe('Failed');
    expect(condition(noImage, 'Ready')?.message).toMatch(/agent-orchestrator\/does-not-exist:1.*retrying in \d+s/);

    const exits = await waitFor('a crash loop', async () => {
      const a = await get('exits');
      return condition(a, 'Ready')?.reason === 'CrashLoopBackOff' ? a : undefined;
    });
    expect(condition(exits, 'Ready')?.message).toMatch(
      /exited with code 1 \(Error\).*config file missing.*restarting at \S+ \(backoff \d+s\)/s,
    );

    const noEngine = await waitFor('RuntimeUnavailable', async () => {
      const a = await get('no-engine');
      return condition(a, 'Ready')?.reason === 'RuntimeUnavailable' ? a : undefined;
    });
    expect(condition(noEngine, 'Ready')?.message).toMatch(/no-such-docker\.sock cannot be reached/);

    await waitFor('the healthy agent to be Ready all the same', phaseIs('fine', 'Ready'), { timeoutMs: 90_000 });

    await client.request('DELETE', objectPath(Agents, ns.name, 'exits'));
    await waitFor('the crash-looping Agent to be deleted', async () =>
      (await get('exits').then(
        () => false,
        (err: unknown) => isNotFound(err),
      ))
        ? true
        : undefined,
    );

    // Deleting an Agent whose engine is unreachable does not hang forever: after the
    // removal timeout it is released, with a Warning saying what was left behind.
    await client.request('DELETE', objectPath(Agents, ns.name, 'no-engine'));
    await waitFor('the Agent with no engine to be released', async () =>
      (await get('no-engine').then(
        () => false,
        (err: unknown) => isNotFound(err),
      ))
        ? true
        : undefined,
    );
    const abandoned = await waitFor('the WorkloadAbandoned Event', async () => {
      const events = await client.request<{ items: { reason?: string; type?: string; note?: string; regarding?: { name?: string } }[] }>(
        'GET',
        `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`,
      );
      return events.items.find((e) => e.regarding?.name === 'no-engine' && e.reason === 'WorkloadAbandoned');
    });
    expect(abandoned.type).toBe('Warning');
    expect(abandoned.note).toMatch(/cannot be reached.*orphan sweep/);
  });

  it('keeps an OOM kill in status.workload.lastExit after the restart, and says ResourcePressure=OOMKilled', async () => {
    await client.request('POST', collectionPath(Policies, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'OrchestratorPolicy',
        metadata: { name: 'default' },
        spec: { plugins: { performance: { periodSeconds: 10 } } },
      },
    });
    // Allocates until the engine kills it: 32Mi of memory and no swap is far too little.
    await createAgent('greedy', {
      command: ['node', '-e', 'const kept = []; for (;;) kept.push(Buffer.alloc(8e6).fill(1));'],
      resources: { limits: { memory: '32Mi' } },
    });
    const killed = await waitFor(
      'the OOM kill recorded',
      async () => {
        const a = await get('greedy');
        return a.status?.workload?.lastExit?.reason === 'OOMKilled' ? a : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(killed.status?.workload?.lastExit).toMatchObject({ reason: 'OOMKilled', exitCode: 137 });
    const pressure = await waitFor('ResourcePressure', async () => condition(await get('greedy'), 'ResourcePressure'), {
      timeoutMs: 60_000,
    });
    expect(pressure).toMatchObject({ status: 'True', reason: 'OOMKilled' });
    expect(pressure.message).toMatch(/^the workload was killed for lack of memory at \S+ \(limit 32Mi\), and restarted/);
    await client.request('DELETE', objectPath(Agents, ns.name, 'greedy'));
  });
});
