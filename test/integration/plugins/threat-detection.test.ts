import { execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../../../operator/src/api/kinds.ts';
import { systemClock } from '../../../operator/src/runtime/clock.ts';
import { ApiError } from '../../../operator/src/runtime/errors.ts';
import type { RestClient } from '../../../operator/src/runtime/rest/client.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { Leases, collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { RefusalReporter, RefusalReportingClient } from '../../../runner/refusals.ts';
import { RELEASE_ANNOTATION } from '../../../plugins/threat-detection/index.ts';
import { chartOperatorIdentity } from '../../support/chart-rbac.ts';
import { installCrds } from '../../support/crds.ts';
import { must, repo } from '../../support/hack-scripts.ts';
import { agentKubeConfig } from '../../support/identities.ts';
import { useNamespace } from '../../support/kube.ts';
import { kubectl, kubectlOk } from '../../support/kubectl.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { PodFleet } from '../../support/pod-fleet.ts';
import { testClient, testLogger } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const Policies = resourceOfKind(policyKind);

type Condition = { type: string; status: string; reason: string; message: string; lastTransitionTime: string };
type AgentObj = KubeObject & {
  status?: {
    conditions?: Condition[];
    stats?: { succeeded?: number };
    refusals?: { reported?: { total: number; recent?: { verb: string; name?: string }[] } };
  };
};
type TaskObj = KubeObject & { status?: { phase?: string; assignment?: { agent: string }; conditions?: Condition[] } };
type EventObj = KubeObject & { reason?: string; note?: string; message?: string; count?: number; involvedObject?: { name?: string } };

async function refusal(p: Promise<unknown>): Promise<ApiError | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
}

/** The chart's agent admission policy, scoped to the namespace, as an install renders it. */
async function applyAgentAdmissionPolicy(namespace: string): Promise<string> {
  const rendered = execFileSync(
    must('control-plane.sh', ['helm']),
    [
      'template',
      namespace,
      path.join(repo, 'charts/agent-orchestrator'),
      '--namespace',
      `${namespace}-release`,
      '--show-only',
      'templates/admission-policy.yaml',
      '--set',
      `watchNamespaces={${namespace}}`,
      // Other values of the chart are not what this test is about.
      '--skip-schema-validation',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'vap-')), 'policy.yaml');
  await writeFile(file, rendered);
  await kubectlOk('apply', '-f', file);
  return file;
}

describe('threat detection: an agent whose identity keeps trying what it may not is quarantined', () => {
  beforeAll(installCrds);
  const ns = useNamespace('threats-');
  let operator: RunningOperator | undefined;
  let fleet: PodFleet;
  let kubeConfig: KubeConfig;
  let policyFile: string | undefined;
  const stop = new AbortController();
  // Each runner's client reports its refusals on its Agent, as runner/main.ts wires it.
  const clients = new Map<string, RefusalReportingClient>();
  const clientOf = async (agent: string): Promise<RestClient> => {
    const reporter: { current?: RefusalReporter } = {};
    const c = new RefusalReportingClient(await agentKubeConfig(client, inject('kubeconfig'), ns.name, agent), (r) => {
      reporter.current?.record(r);
    });
    reporter.current = new RefusalReporter({
      client: c,
      namespace: ns.name,
      agent,
      intervalMs: 1000,
      clock: systemClock,
      logger: testLogger(),
    });
    void reporter.current.run(stop.signal);
    clients.set(agent, c);
    return c;
  };
  const startAs = (): Promise<RunningOperator> =>
    startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' }, [], kubeConfig);

  beforeAll(async () => {
    policyFile = await applyAgentAdmissionPolicy(ns.name);
    kubeConfig = (await chartOperatorIdentity(client, inject('kubeconfig'), ns.name, 'operator')).kubeConfig;
    await client.request('POST', collectionPath(Policies, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'OrchestratorPolicy',
        metadata: { name: 'default' },
        spec: { plugins: { 'threat-detection': { threshold: 5, windowSeconds: 120 } } },
      },
    });
    operator = await startAs();
    fleet = new PodFleet(client, ns.name, undefined, clientOf);
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
  });
  afterAll(async () => {
    stop.abort();
    await fleet.stop();
    for (const c of clients.values()) await c.close();
    await operator?.stop();
    if (policyFile) await kubectl('delete', '--ignore-not-found', '-f', policyFile);
  });

  const agent = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));
  const quarantine = async (name: string): Promise<Condition | undefined> =>
    (await agent(name)).status?.conditions?.find((c) => c.type === 'Quarantined');
  const task = (name: string, capability: string): Promise<unknown> =>
    client.request('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: [capability], input: name } },
    });
  const getTask = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const inPhase = (name: string, phase: string): Promise<TaskObj> =>
    waitFor(
      `${name} ${phase}`,
      async () => {
        const t = await getTask(name);
        return t.status?.phase === phase ? t : undefined;
      },
      { timeoutMs: 90_000, describe: async () => JSON.stringify((await getTask(name)).status) },
    );
  const events = async (name: string, reason: string): Promise<EventObj[]> => {
    const list = await client.request<ObjectList<EventObj>>('GET', `/api/v1/namespaces/${ns.name}/events`);
    return list.items.filter((e) => e.involvedObject?.name === name && e.reason === reason);
  };
  const eventCount = async (name: string, reason: string): Promise<number> =>
    (await events(name, reason)).reduce((n, e) => n + (e.count ?? 1), 0);

  it('does not count the refusals of an agent’s own work, and quarantines it for trying another agent’s task and Lease', async () => {
    await task('a1', 'a');
    await task('b1', 'b');
    await inPhase('a1', 'Succeeded');
    await inPhase('b1', 'Succeeded');
    // The runners' own status writes pass the admission policy's new rules.
    await waitFor('a1 counted on alice by her runner', async () =>
      (await agent('alice')).status?.stats?.succeeded === 1 ? true : undefined,
    );
    // Whatever the runners were refused while RBAC caught up with their Roles is not evidence.
    expect(await quarantine('alice')).toBeUndefined();
    expect(await quarantine('bob')).toBeUndefined();

    const alice = clients.get('alice');
    if (!alice) throw new Error('alice has no runner');
    for (let i = 0; i < 4; i++) expect((await refusal(alice.request('GET', objectPath(Tasks, ns.name, 'b1'))))?.status).toBe(403);
    for (let i = 0; i < 3; i++) {
      const forged = alice.request('PUT', objectPath(Leases, ns.name, 'agent-bob'), {
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'agent-bob' }, spec: { holderIdentity: 'alice' } },
      });
      expect((await refusal(forged))?.status).toBe(403);
    }

    const condition = await waitFor('alice quarantined', async () => {
      const c = await quarantine('alice');
      return c?.status === 'True' ? c : undefined;
    });
    expect(condition.reason).toBe('RepeatedRefusals');
    expect(condition.message).toMatch(
      /^agent-alice tried get tasks b1 in threats-\S+ \(403\) 4 times in 120s and was refused 3 more times: quarantined/,
    );
    const reported = (await agent('alice')).status?.refusals?.reported;
    expect(reported?.total).toBeGreaterThanOrEqual(7);
    expect(reported?.recent?.some((e) => e.verb === 'update' && e.name === 'agent-bob')).toBe(true);
    const [warning] = await waitFor('a RepeatedRefusals Event', async () => {
      const found = await events('alice', 'RepeatedRefusals');
      return found.length > 0 ? found : undefined;
    });
    expect(warning?.type).toBe('Warning');
    expect(warning?.message ?? warning?.note).toContain('agent-alice tried get tasks b1');
    expect(await quarantine('bob')).toBeUndefined();
  });

  it('routes no task to the quarantined agent, and the agent cannot lift its own quarantine', async () => {
    await task('a2', 'a');
    const waiting = await waitFor('a2 to say why it waits', async () => {
      const c = (await getTask('a2')).status?.conditions?.find((x) => x.type === 'Scheduled');
      return c?.message.includes('threat-detection') === true ? c : undefined;
    });
    expect(waiting.status).toBe('False');
    expect(waiting.message).toContain('quarantined: its identity keeps trying what it may not');
    expect((await getTask('a2')).status?.phase).toBe('Pending');

    const alice = clients.get('alice');
    if (!alice) throw new Error('alice has no runner');
    const live = await agent('alice');
    const lifted = await refusal(
      alice.request('PATCH', `${objectPath(Agents, ns.name, 'alice')}/status`, {
        contentType: 'application/merge-patch+json',
        body: { status: { conditions: (live.status?.conditions ?? []).filter((c) => c.type !== 'Quarantined') } },
      }),
    );
    expect(lifted?.status).toBe(403);
    expect(lifted?.message).toContain('may not change its own Quarantined condition');
    const forgedAudit = await refusal(
      alice.request('PATCH', `${objectPath(Agents, ns.name, 'alice')}/status`, {
        contentType: 'application/merge-patch+json',
        body: { status: { refusals: { audited: { total: 0, recent: [] } } } },
      }),
    );
    expect(forgedAudit?.status).toBe(403);
    expect(forgedAudit?.message).toContain('may not write status.refusals.audited');
  });

  it('keeps the quarantine across an operator restart without a second Event, and lets a person release it', async () => {
    const before = await quarantine('alice');
    const warnings = await eventCount('alice', 'RepeatedRefusals');
    await operator?.stop();
    operator = await startAs();
    // The new operator has ticked the namespace once it routes: b2 runs on bob.
    await task('b2', 'b');
    await inPhase('b2', 'Succeeded');
    expect(await quarantine('alice')).toEqual(before);
    expect(await eventCount('alice', 'RepeatedRefusals')).toBe(warnings);
    expect((await getTask('a2')).status?.phase).toBe('Pending');

    await client.request('PATCH', objectPath(Agents, ns.name, 'alice'), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { [RELEASE_ANNOTATION]: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } } },
    });
    const released = await waitFor('alice released', async () => {
      const c = await quarantine('alice');
      return c?.status === 'False' ? c : undefined;
    });
    expect(released.reason).toBe('Released');
    expect((await inPhase('a2', 'Succeeded')).status?.assignment?.agent).toBe('alice');
    expect(await eventCount('alice', 'Released')).toBe(1);
    expect(await eventCount('alice', 'RepeatedRefusals')).toBe(warnings);
  });
});
