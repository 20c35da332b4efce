import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { chartOperatorIdentity } from '../../support/chart-rbac.ts';
import { installCrds } from '../../support/crds.ts';
import { dockerFromHost } from '../../support/docker.ts';
import { useNamespace } from '../../support/kube.ts';
import { OperatorProcess } from '../../support/operator-process.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const docker = dockerFromHost(inject('dockerHost'));
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const ENGINE_MESSAGE = 'engine on fire: every call fails (hostile test)';

type Condition = { type: string; status: string; reason: string; message: string };
type AgentObj = KubeObject & { status?: { phase?: string; conditions?: Condition[] } };
type EventObj = { reason?: string; type?: string; note?: string; regarding?: { name?: string } };

/**
 * A Docker engine on 127.0.0.1 that answers every call with a 500 and a Docker-style JSON
 * error until `heal()`; from then on it passes every request to the real engine.
 */
class FailingEngine {
  private healed = false;
  private readonly server: Server;
  calls = 0;

  constructor(socketPath: string) {
    this.server = createServer((req, res) => {
      this.calls++;
      if (!this.healed) {
        req.resume();
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: ENGINE_MESSAGE }));
        return;
      }
      const upstream = request({ socketPath, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    return `tcp://127.0.0.1:${address.port}`;
  }

  heal(): void {
    this.healed = true;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('a Docker engine that returns errors for every call', () => {
  beforeAll(installCrds);
  const ns = useNamespace('hostile-engine-');
  let engine: FailingEngine;
  let operator: OperatorProcess;

  beforeAll(async () => {
    const host = inject('dockerHost');
    if (!host.startsWith('unix://')) throw new Error(`this test stands in front of a unix socket; the engine is ${host}`);
    engine = new FailingEngine(host.slice('unix://'.length));
    const endpoint = await engine.listen();
    const { kubeConfig } = await chartOperatorIdentity(client, inject('kubeconfig'), ns.name, 'operator');
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'engine-operator-')), 'config');
    await writeFile(file, kubeConfig.exportConfig(), { mode: 0o600 });
    operator = new OperatorProcess({
      KUBECONFIG: file,
      AO_WATCH_NAMESPACES: ns.name,
      AO_LEADER_ELECT: 'false',
      AO_DOCKER_HOST: endpoint,
      AO_DOCKER_PULL_POLICY: 'Never',
      AO_DOCKER_NETWORK: 'host',
      AO_DOCKER_REQUEST_TIMEOUT: '5',
      AO_AGENT_STARTUP_GRACE: '60',
    });
    await waitFor('the operator ready', async () =>
      (await operator.get('/readyz').catch(() => undefined))?.status === 200 ? true : undefined,
    );
  });
  afterAll(async () => {
    await operator.stop();
    await engine.close();
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`agents.orchestrator.dev/namespace=${ns.name}`] } });
    await Promise.all(leftovers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  });

  const agent = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));

  it('reports the engine’s message on the agent, keeps the operator up, and starts the agent and its task once the engine answers', async () => {
    await client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name: 'boxed' },
        spec: {
          capabilities: ['boxed'],
          runtime: { type: 'docker', image: 'agent-orchestrator/runner:dev' },
          heartbeat: { intervalSeconds: 1, timeoutSeconds: 10 },
        },
      },
    });
    await client.request('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name: 'waits' }, spec: { requiredCapabilities: ['boxed'] } },
    });
    const failing = await waitFor(
      'Ready=False with the engine’s message',
      async () => {
        const c = (await agent('boxed')).status?.conditions?.find((x) => x.type === 'Ready');
        return c?.status === 'False' && c.message.includes(ENGINE_MESSAGE) ? c : undefined;
      },
      { timeoutMs: 60_000, describe: async () => JSON.stringify((await agent('boxed')).status) },
    );
    expect(failing.reason).toMatch(/^[A-Z]/);
    const warned = await waitFor('a Warning Event naming the engine’s message', async () => {
      const events = await client.request<{ items: EventObj[] }>('GET', `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`);
      return events.items.find((e) => e.regarding?.name === 'boxed' && e.type === 'Warning' && (e.note ?? '').includes(ENGINE_MESSAGE));
    });
    expect(warned.reason).toBe(failing.reason);
    // Every call failed, and the operator is the same process, ready.
    expect(engine.calls).toBeGreaterThan(0);
    expect(operator.running).toBe(true);
    expect((await operator.get('/readyz')).status).toBe(200);
    expect(
      (await client.request<KubeObject & { status?: { phase?: string } }>('GET', objectPath(Tasks, ns.name, 'waits'))).status?.phase,
    ).toBe('Pending');

    engine.heal();
    // The retry backoff of a failed start is 10 s, doubling: the agent starts at its next retry.
    await waitFor(
      'the agent Ready once the engine answers',
      async () => ((await agent('boxed')).status?.phase === 'Ready' ? true : undefined),
      {
        timeoutMs: 150_000,
        describe: async () => JSON.stringify((await agent('boxed')).status),
      },
    );
    const done = await waitFor(
      'the task that waited to succeed',
      async () => {
        const t = await client.request<KubeObject & { status?: { phase?: string; history?: { outcome: string }[] } }>(
          'GET',
          objectPath(Tasks, ns.name, 'waits'),
        );
        return t.status?.phase === 'Succeeded' ? t : undefined;
      },
      { timeoutMs: 90_000 },
    );
    expect(done.status?.history?.map((h) => h.outcome)).toEqual(['Succeeded']);
    expect(operator.running).toBe(true);
  });
});
