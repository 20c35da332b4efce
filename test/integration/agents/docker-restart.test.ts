import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { dockerFromHost } from '../../support/docker.ts';
import { useNamespace } from '../../support/kube.ts';
import { LoopbackProxy } from '../../support/loopback-proxy.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { metricValue, testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const docker = dockerFromHost(inject('dockerHost'));
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const RUNNER_IMAGE = 'agent-orchestrator/runner:dev';
// Longer than the first restart backoff (10 s): the restarted runner renews the Lease
// before it expires, so only a runner that tells its predecessor's attempts apart recovers.
const HEARTBEAT = { intervalSeconds: 1, timeoutSeconds: 30 };
const RECOVERY_BOUND_MS = 3 * HEARTBEAT.timeoutSeconds * 1000;

type Condition = { type: string; status: string; reason: string; message: string };
type AgentObj = KubeObject & { status?: { phase?: string; conditions?: Condition[]; workload?: { id?: string; startedAt?: string } } };
type TaskObj = KubeObject & {
  status?: {
    phase?: string;
    assignment?: { attempt: number; claimedBy?: string };
    history?: { agent: string; outcome: string; reason?: string }[];
    result?: { output?: string };
  };
};
type EventObj = { reason?: string; type?: string; note?: string; regarding?: { name?: string }; metadata: { creationTimestamp?: string } };

// Docker agents whose container dies while it runs tasks, or whose engine the operator
// loses: the real runner image, a real engine.
describe('Agents of runtime docker under restarts and outages', () => {
  beforeAll(installCrds);
  const ns = useNamespace('docker-restart-');
  let operator: RunningOperator | undefined;
  const proxies: LoopbackProxy[] = [];
  beforeAll(async () => {
    operator = await startOperator(ns.name, {
      AO_DOCKER_HOST: inject('dockerHost'),
      AO_DOCKER_REQUEST_TIMEOUT: '5',
      AO_AGENT_STARTUP_GRACE: '60',
      AO_TASK_REASSIGN_DELAY: '1',
    });
  });
  afterEach(async () => {
    await Promise.all(proxies.splice(0).map((p) => p.cut()));
  });
  afterAll(async () => {
    await operator?.stop();
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`agents.orchestrator.dev/namespace=${ns.name}`] } });
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  });

  const agent = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));
  const task = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const tasks = (names: readonly string[]): Promise<TaskObj[]> => Promise.all(names.map(task));
  const events = async (name: string): Promise<EventObj[]> =>
    (await client.request<{ items: EventObj[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`)).items.filter(
      (e) => e.regarding?.name === name,
    );

  async function createAgent(name: string, runtime: Record<string, unknown>, maxConcurrentTasks = 1): Promise<void> {
    await client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name },
        spec: {
          capabilities: [name],
          runtime: { type: 'docker', image: RUNNER_IMAGE, docker: { host: inject('dockerHost') }, ...runtime },
          maxConcurrentTasks,
          heartbeat: HEARTBEAT,
        },
      },
    });
  }

  async function exec(containerId: string, script: string): Promise<void> {
    const e = await docker.getContainer(containerId).exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true });
    const stream = await e.start({});
    await new Promise((resolve) => {
      stream.on('end', resolve);
      stream.resume();
    });
  }

  it('a container killed while it runs tasks: its attempts are handed back and run again after the restart, each task ending once', async () => {
    // Each execution waits for a gate file inside the container.
    await createAgent(
      'boxed',
      {
        env: [{ name: 'RUNNER_COMMAND', value: 'while [ ! -e /tmp/gate ]; do sleep 0.1; done; echo "$TASK_NAME: attempt $TASK_ATTEMPT"' }],
      },
      2,
    );
    const ready = await waitFor(
      'the agent Ready',
      async () => {
        const a = await agent('boxed');
        return a.status?.phase === 'Ready' ? a : undefined;
      },
      { timeoutMs: 90_000 },
    );
    const containerId = ready.status?.workload?.id ?? '';
    const names = ['d1', 'd2', 'd3'];
    for (const name of names) {
      await client.request('POST', collectionPath(Tasks, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Task',
          metadata: { name },
          spec: { requiredCapabilities: ['boxed'], timeoutSeconds: 3600 },
        },
      });
    }
    const held = await waitFor('two tasks Running in the container', async () => {
      const r = (await tasks(names)).filter((t) => t.status?.phase === 'Running' && t.status.assignment?.claimedBy);
      return r.length === 2 ? r : undefined;
    });
    const heldNames = held.map((t) => t.metadata.name ?? '');
    const firstLife = held[0]?.status?.assignment?.claimedBy;

    await docker.getContainer(containerId).kill();
    // The operator restarts the same container after its backoff; a new runner process starts in it.
    const restarted = await waitFor(
      'two tasks Running under the restarted runner',
      async () => {
        const r = (await tasks(names)).filter(
          (t) => t.status?.phase === 'Running' && t.status.assignment?.claimedBy && t.status.assignment.claimedBy !== firstLife,
        );
        return r.length === 2 ? r : undefined;
      },
      { timeoutMs: RECOVERY_BOUND_MS },
    );
    expect((await agent('boxed')).status?.workload?.id).toBe(containerId);
    for (const name of heldNames) {
      const lost = (await task(name)).status?.history?.[0];
      expect(lost?.outcome).toBe('Lost');
      expect(lost?.reason).toMatch(/restarted/);
    }
    expect(restarted.length).toBe(2);

    await exec(containerId, 'touch /tmp/gate');
    const done = await waitFor(
      'every task to succeed',
      async () => {
        const all = await tasks(names);
        return all.every((t) => t.status?.phase === 'Succeeded') ? all : undefined;
      },
      { timeoutMs: RECOVERY_BOUND_MS },
    );
    for (const t of done) {
      const name = t.metadata.name ?? '';
      const lost = heldNames.includes(name);
      expect(t.status?.history?.map((h) => h.outcome)).toEqual(lost ? ['Lost', 'Succeeded'] : ['Succeeded']);
      expect(t.status?.result?.output).toBe(`${name}: attempt ${lost ? 2 : 1}\n`);
    }
  });

  it('an engine the operator cannot reach, or that hangs, while the agent still heartbeats: it serves on, with one Event each way', async () => {
    const target = inject('dockerHost');
    if (!target.startsWith('unix://')) return; // the proxy stands in front of a unix socket
    const proxy = new LoopbackProxy(target.slice('unix://'.length));
    proxies.push(proxy);
    const endpoint = await proxy.open();
    await createAgent('steady', { docker: { host: endpoint } });
    await waitFor('the agent Ready', async () => ((await agent('steady')).status?.phase === 'Ready' ? true : undefined), {
      timeoutMs: 90_000,
    });
    // Events are written after the status: count from the one that says it became Ready.
    const seen = await waitFor('the Ready Event', async () => {
      const all = await events('steady');
      return all.some((e) => e.reason === 'Ready') ? all.length : undefined;
    });
    const newEvents = async (): Promise<string[]> => (await events('steady')).slice(seen).map((e) => `${e.type ?? ''} ${e.reason ?? ''}`);
    const ready = (a: AgentObj): Condition | undefined => a.status?.conditions?.find((c) => c.type === 'Ready');
    const readyReason =
      (reason: string, message = /./) =>
      async (): Promise<AgentObj | undefined> => {
        const a = await agent('steady');
        const c = ready(a);
        return c?.reason === reason && message.test(c.message) ? a : undefined;
      };
    const reconciles = async (): Promise<number> =>
      operator ? metricValue(operator.manager.metrics, 'controller_runtime_reconcile_total', { controller: 'agent' }) : 0;
    const lookAgain = async (times: number): Promise<void> => {
      const start = await reconciles();
      await waitFor(`${times} more reconciles`, async () => ((await reconciles()) - start >= times ? true : undefined), {
        timeoutMs: 120_000,
      });
    };

    // Connections refused: the agent keeps serving, says why, and the heartbeats that keep
    // coming (each one a reconcile) change nothing more.
    await proxy.cut();
    const cut = await waitFor('Ready=True/RuntimeUnavailable', readyReason('RuntimeUnavailable', /cannot be reached/));
    expect([cut.status?.phase, ready(cut)?.status]).toEqual(['Ready', 'True']);
    expect(cut.status?.workload?.id).toBeDefined();
    await lookAgain(10);
    expect((await agent('steady')).status?.phase).toBe('Ready');
    expect(await newEvents()).toEqual(['Warning RuntimeUnavailable']);

    await proxy.open();
    await waitFor('Ready=True/HeartbeatRenewed', readyReason('HeartbeatRenewed'));
    await waitFor('the recovery Event', async () => ((await newEvents()).length === 2 ? true : undefined));
    expect(await newEvents()).toEqual(['Warning RuntimeUnavailable', 'Normal RuntimeAvailable']);

    // An engine that accepts connections and never answers must not hold the reconcile:
    // the request timeout turns it into the same report.
    proxy.hang();
    await waitFor('Ready=True/RuntimeUnavailable after a hang', readyReason('RuntimeUnavailable', /socket hang up|ECONNRESET/), {
      timeoutMs: 90_000,
    });
    await lookAgain(3);
    expect((await agent('steady')).status?.phase).toBe('Ready');
    expect(await newEvents()).toEqual(['Warning RuntimeUnavailable', 'Normal RuntimeAvailable', 'Warning RuntimeUnavailable']);
    await proxy.open();
    await waitFor('Ready=True/HeartbeatRenewed again', readyReason('HeartbeatRenewed'), { timeoutMs: 90_000 });
  });
});
