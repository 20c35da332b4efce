import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../operator/src/api/kinds.ts';
import { ApiError } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import { microTime, type KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Leases, collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { useNamespace } from '../test/support/kube.ts';
import { PodFleet } from '../test/support/pod-fleet.ts';
import { testClient } from '../test/support/runtime.ts';
import { waitFor } from '../test/support/wait.ts';
import { agentClient, serviceAccountClient } from '../test/support/identities.ts';

const admin = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);

async function refusal(p: Promise<unknown>): Promise<{ status: number; message: string } | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, message: err.message };
    throw err;
  }
}

/** Whether a ServiceAccount may do it (SubjectAccessReview), asked as the API server would for its token. */
async function mayDo(namespace: string, serviceAccount: string, attributes: Record<string, string>): Promise<boolean> {
  const review = await admin.request<{ status: { allowed: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: `system:serviceaccount:${namespace}:${serviceAccount}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
        resourceAttributes: attributes,
      },
    },
  });
  return review.status.allowed;
}

describe('an agent reads and writes only what is its own (its Role, and the chart’s ValidatingAdmissionPolicy)', () => {
  const ns = useNamespace('e2e-sec-');
  let alice: RestClient;
  let fleet: PodFleet | undefined;
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  beforeAll(async () => {
    const e2e = inject('e2e');
    // Runners that act as their agents' ServiceAccounts and hold their tasks until the
    // end, so each task stays assigned while another agent tries to write it.
    if (e2e.mode === 'local') {
      fleet = new PodFleet(
        admin,
        ns.name,
        async (task) => {
          await released;
          return { outcome: 'Succeeded', output: task.name, reason: 'exit code 0', exitCode: 0 };
        },
        (name) => agentClient(admin, e2e.kubeconfig, ns.name, name),
      );
    }
    for (const [name, capability] of [
      ['alice', 'a'],
      ['bob', 'b'],
    ] as const) {
      await admin.request('POST', collectionPath(Agents, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Agent',
          metadata: { name },
          spec: {
            capabilities: [capability],
            runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
            heartbeat: { intervalSeconds: 2, timeoutSeconds: 10 },
          },
        },
      });
      await admin.request('POST', collectionPath(Tasks, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Task',
          metadata: { name: `for-${name}` },
          spec: { requiredCapabilities: [capability], input: `${name}'s secret plan` },
        },
      });
    }
    alice = await waitFor('alice’s Pod, whose token is her identity', () => agentClient(admin, e2e.kubeconfig, ns.name, 'alice'));
  });
  afterAll(async () => {
    release();
    await fleet?.stop();
    await alice.close();
  });

  // Running (held) or done, the task stays assigned to the agent that ran it.
  const claimedBy = (name: string, agent: string): Promise<KubeObject> =>
    waitFor(
      `${name} claimed by ${agent}`,
      async () => {
        const t = await admin.request<KubeObject>('GET', objectPath(Tasks, ns.name, name));
        const s = t.status as { phase?: string; assignment?: { agent?: string } } | undefined;
        return ['Running', 'Succeeded'].includes(s?.phase ?? '') && s?.assignment?.agent === agent ? t : undefined;
      },
      { timeoutMs: 90_000 },
    );
  const writeStatus = (c: RestClient, t: KubeObject, status: Record<string, unknown>): Promise<unknown> =>
    c.request('PUT', `${objectPath(Tasks, ns.name, t.metadata.name ?? '')}/status`, { body: { ...t, status } });

  it('lets an agent write the task assigned to it: its runner claimed it under its own token', async () => {
    await claimedBy('for-alice', 'alice');
  });

  it('lets alice read her own task but not bob’s: neither by name, nor in a list, nor in a watch', async () => {
    await claimedBy('for-bob', 'bob');
    const mine = await claimedBy('for-alice', 'alice');
    // Her Role names her task once it is assigned to her; RBAC may take a moment to see it.
    const read = await waitFor('alice reads her own task', () =>
      alice.request<KubeObject>('GET', objectPath(Tasks, ns.name, 'for-alice')).catch(() => undefined),
    );
    expect(read.spec).toMatchObject({ input: "alice's secret plan" });
    expect(read.metadata.uid).toBe(mine.metadata.uid);
    const forbidden = `User "system:serviceaccount:${ns.name}:agent-alice" cannot`;
    for (const attempt of [
      () => alice.request('GET', objectPath(Tasks, ns.name, 'for-bob')),
      () => alice.request('GET', `${objectPath(Tasks, ns.name, 'for-bob')}/status`),
      () => alice.request('GET', collectionPath(Tasks, ns.name)),
      () => alice.request('GET', collectionPath(Tasks, ns.name), { query: { fieldSelector: 'metadata.name=for-bob' } }),
      () => alice.request('GET', collectionPath(Tasks, ns.name), { query: { watch: 'true', timeoutSeconds: '1' } }),
      () => alice.request('GET', `/apis/${API_VERSION}/tasks`),
      () => alice.request('GET', objectPath(Agents, ns.name, 'bob')),
    ]) {
      const refused = await refusal(attempt());
      expect(refused?.status).toBe(403);
      expect(refused?.message).toContain(forbidden);
    }
  });

  // What agent alice's identity may do while for-alice runs (SubjectAccessReview): its own
  // objects by name, nothing of bob's, nothing without a name but creating its Lease.
  type AgentRow = [verb: string, group: string, resource: string, name: string, allowed: boolean];
  const agentTable: AgentRow[] = [
    ['get', 'agents.orchestrator.dev', 'tasks', 'for-alice', true],
    ['watch', 'agents.orchestrator.dev', 'tasks', 'for-alice', true],
    ['update', 'agents.orchestrator.dev', 'tasks/status', 'for-alice', true],
    ['get', 'agents.orchestrator.dev', 'tasks', 'for-bob', false],
    ['watch', 'agents.orchestrator.dev', 'tasks', 'for-bob', false],
    ['get', 'agents.orchestrator.dev', 'tasks/status', 'for-bob', false],
    ['update', 'agents.orchestrator.dev', 'tasks/status', 'for-bob', false],
    ['list', 'agents.orchestrator.dev', 'tasks', '', false],
    ['watch', 'agents.orchestrator.dev', 'tasks', '', false],
    ['create', 'agents.orchestrator.dev', 'tasks', '', false],
    ['delete', 'agents.orchestrator.dev', 'tasks', 'for-alice', false],
    ['get', 'agents.orchestrator.dev', 'agents', 'alice', true],
    ['watch', 'agents.orchestrator.dev', 'agents', 'alice', true],
    ['patch', 'agents.orchestrator.dev', 'agents/status', 'alice', true],
    ['get', 'agents.orchestrator.dev', 'agents', 'bob', false],
    ['list', 'agents.orchestrator.dev', 'agents', '', false],
    ['patch', 'agents.orchestrator.dev', 'agents/status', 'bob', false],
    ['update', 'agents.orchestrator.dev', 'agents', 'alice', false],
    ['get', 'coordination.k8s.io', 'leases', 'agent-alice', true],
    ['update', 'coordination.k8s.io', 'leases', 'agent-alice', true],
    ['create', 'coordination.k8s.io', 'leases', '', true],
    ['get', 'coordination.k8s.io', 'leases', 'agent-bob', false],
    ['update', 'coordination.k8s.io', 'leases', 'agent-bob', false],
    ['watch', 'rbac.authorization.k8s.io', 'roles', 'agent-alice', true],
    ['get', 'rbac.authorization.k8s.io', 'roles', 'agent-bob', false],
    ['patch', 'rbac.authorization.k8s.io', 'roles', 'agent-alice', false],
    ['get', '', 'secrets', '', false],
    ['get', '', 'secrets', 'llm-key', false],
    ['list', '', 'secrets', '', false],
    ['list', '', 'configmaps', '', false],
    ['create', '', 'pods', '', false],
    ['create', '', 'serviceaccounts/token', 'agent-bob', false],
  ];
  it.each(agentTable)('agent alice: %s %s/%s %s → allowed %s', async (verb, group, resource, name, allowed) => {
    await claimedBy('for-alice', 'alice');
    const [plural = '', subresource] = resource.split('/');
    const review = (): Promise<boolean> =>
      mayDo(ns.name, 'agent-alice', {
        namespace: ns.name,
        verb,
        group,
        resource: plural,
        ...(subresource ? { subresource } : {}),
        ...(name ? { name } : {}),
      });
    // The Role names for-alice once the operator saw her claim it: wait for that, not for a refusal.
    const answer = allowed ? await waitFor('allowed', async () => ((await review()) ? true : undefined)) : await review();
    expect(answer).toBe(allowed);
  });

  it("refuses an agent's write to another agent's task", async () => {
    const theirs = await claimedBy('for-bob', 'bob');
    const refused = await refusal(writeStatus(alice, theirs, { ...(theirs.status ?? {}), phase: 'Failed' }));
    expect(refused?.status).toBe(403);
    expect(refused?.message).toContain(`cannot update resource "tasks/status" in API group "agents.orchestrator.dev"`);
  });

  it('refuses taking over a task by reassigning it', async () => {
    const mine = await claimedBy('for-alice', 'alice');
    const status = mine.status as { assignment: { agent: string } };
    expect((await refusal(writeStatus(alice, mine, { ...status, assignment: { ...status.assignment, agent: 'bob' } })))?.status).toBe(403);
  });

  it("refuses writing another agent's heartbeat Lease or status", async () => {
    const forged = alice.request('POST', collectionPath(Leases, ns.name), {
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'agent-carol' }, spec: { holderIdentity: 'alice' } },
    });
    const leaseRefused = await refusal(forged);
    expect(leaseRefused?.status).toBe(403);
    expect(leaseRefused?.message).toContain('agent alice may write only its own heartbeat Lease agent-alice');
    // Its own Lease (its runner made it) it may renew.
    await claimedBy('for-alice', 'alice');
    const renew = async (): Promise<{ status: number; message: string } | undefined> => {
      const lease = await alice.request<KubeObject>('GET', objectPath(Leases, ns.name, 'agent-alice'));
      return refusal(
        alice.request('PUT', objectPath(Leases, ns.name, 'agent-alice'), {
          body: { ...lease, spec: { ...(lease.spec ?? {}), renewTime: microTime(Date.now()) } },
        }),
      );
    };
    // The runner renews it too: a conflict with it is no refusal, so try again.
    let renewed = await renew();
    for (let i = 0; i < 5 && renewed?.status === 409; i++) renewed = await renew();
    expect(renewed).toBeUndefined();
    const status = alice.request('PATCH', `${objectPath(Agents, ns.name, 'bob')}/status`, {
      body: { status: { stats: { succeeded: 1000, failed: 0, consecutiveFailures: 0 } } },
      contentType: 'application/merge-patch+json',
    });
    const statusRefused = await refusal(status);
    expect(statusRefused?.status).toBe(403);
    expect(statusRefused?.message).toContain('cannot patch resource "agents/status"');
  });

  it('narrows an agent’s writes to its own even where its account is bound to more than its own Role (the admission policy)', async () => {
    const e2e = inject('e2e');
    // An account agent-carol bound to the broad Role agents shared before ADR 0016 (a
    // binding left from an upgrade, or made by hand).
    await admin.request('POST', `/api/v1/namespaces/${ns.name}/serviceaccounts`, { body: { metadata: { name: 'agent-carol' } } });
    await admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/roles`, {
      body: {
        metadata: { name: 'broad' },
        rules: [
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
          {
            apiGroups: ['agents.orchestrator.dev'],
            resources: ['tasks', 'tasks/status'],
            verbs: ['get', 'list', 'watch', 'update', 'patch'],
          },
        ],
      },
    });
    await admin.request('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings`, {
      body: {
        metadata: { name: 'carol-broad' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'broad' },
        subjects: [{ kind: 'ServiceAccount', name: 'agent-carol', namespace: ns.name }],
      },
    });
    const carol = await serviceAccountClient(admin, e2e.kubeconfig, ns.name, 'agent-carol');
    const lease = (name: string): Promise<unknown> =>
      carol.request('POST', collectionPath(Leases, ns.name), {
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name }, spec: { holderIdentity: 'carol' } },
      });
    try {
      // RBAC takes a moment to see the new binding: wait until its own Lease is let through.
      await waitFor('carol’s own Lease', async () => ((await refusal(lease('agent-carol'))) === undefined ? true : undefined));
      const forged = await refusal(lease('agent-bob'));
      expect(forged?.status).toBe(403);
      expect(forged?.message).toContain('agent carol may write only its own heartbeat Lease agent-carol');
      const theirs = await claimedBy('for-bob', 'bob');
      const task = await refusal(writeStatus(carol, theirs, { ...(theirs.status ?? {}), phase: 'Failed' }));
      expect(task?.status).toBe(403);
      expect(task?.message).toContain('agent carol may write only the Tasks assigned to it; for-bob is assigned to bob');
    } finally {
      await carol.close();
    }
  });

  it('gives an agent no power beyond its Role (RBAC)', async () => {
    const create = alice.request('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name: 'forged' }, spec: {} },
    });
    expect((await refusal(create))?.status).toBe(403);
    expect((await refusal(alice.request('GET', `/api/v1/namespaces/${ns.name}/secrets`)))?.status).toBe(403);
  });

  it('ends an agent’s credentials with its Pod: a token bound to a Pod that is gone is not accepted', async () => {
    const e2e = inject('e2e');
    await admin.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name: 'dave' },
        spec: { capabilities: ['d'], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' } },
      },
    });
    const dave = await waitFor('dave’s Pod', () => agentClient(admin, e2e.kubeconfig, ns.name, 'dave'));
    try {
      await dave.request('GET', objectPath(Agents, ns.name, 'dave'));
      await admin.request('PATCH', objectPath(Agents, ns.name, 'dave'), {
        body: { spec: { desiredState: 'Sleeping' } },
        contentType: 'application/merge-patch+json',
      });
      const gone = await waitFor('dave’s token refused once his Pod is gone', async () => {
        const refused = await refusal(dave.request('GET', objectPath(Agents, ns.name, 'dave')));
        return refused?.status === 401 ? refused : undefined;
      });
      expect(gone.status).toBe(401);
    } finally {
      await dave.close();
    }
  });
});

describe("the operator's ServiceAccount can do what it needs and nothing more (SubjectAccessReview)", () => {
  type Row = [verb: string, group: string, resource: string, subresource: string, allowed: boolean];
  const table: Row[] = [
    ['watch', 'agents.orchestrator.dev', 'agents', '', true],
    ['create', 'agents.orchestrator.dev', 'agents', '', true],
    ['delete', 'agents.orchestrator.dev', 'agents', '', true],
    ['update', 'agents.orchestrator.dev', 'agents', 'status', true],
    ['update', 'agents.orchestrator.dev', 'agents', 'finalizers', true],
    ['patch', 'agents.orchestrator.dev', 'tasks', '', true],
    ['update', 'agents.orchestrator.dev', 'tasks', 'status', true],
    ['list', 'agents.orchestrator.dev', 'orchestratorpolicies', '', true],
    ['update', 'agents.orchestrator.dev', 'orchestratorpolicies', 'status', true],
    ['create', '', 'pods', '', true],
    ['delete', '', 'pods', '', true],
    ['create', '', 'persistentvolumeclaims', '', true],
    ['get', '', 'persistentvolumeclaims', '', true],
    ['patch', '', 'serviceaccounts', '', true],
    ['create', '', 'serviceaccounts', 'token', true],
    ['patch', 'rbac.authorization.k8s.io', 'rolebindings', '', true],
    ['delete', 'rbac.authorization.k8s.io', 'rolebindings', '', true],
    ['watch', 'rbac.authorization.k8s.io', 'roles', '', true],
    ['patch', 'rbac.authorization.k8s.io', 'roles', '', true],
    ['update', 'coordination.k8s.io', 'leases', '', true],
    ['create', 'events.k8s.io', 'events', '', true],
    // What it never needs.
    ['create', 'agents.orchestrator.dev', 'tasks', '', false],
    ['delete', 'agents.orchestrator.dev', 'tasks', '', false],
    ['create', 'agents.orchestrator.dev', 'orchestratorpolicies', '', false],
    ['delete', 'agents.orchestrator.dev', 'orchestratorpolicies', '', false],
    ['get', '', 'secrets', '', false],
    ['list', '', 'configmaps', '', false],
    ['create', '', 'pods', 'exec', false],
    ['update', '', 'pods', '', false],
    ['delete', '', 'serviceaccounts', '', false],
    ['delete', '', 'persistentvolumeclaims', '', false],
    ['update', '', 'persistentvolumeclaims', '', false],
    ['create', 'apps', 'deployments', '', false],
    ['list', '', 'nodes', '', false],
    ['create', 'rbac.authorization.k8s.io', 'clusterroles', '', false],
    ['bind', 'rbac.authorization.k8s.io', 'clusterroles', '', false],
    ['escalate', 'rbac.authorization.k8s.io', 'roles', '', false],
    ['delete', 'rbac.authorization.k8s.io', 'roles', '', false],
    ['delete', 'coordination.k8s.io', 'leases', '', false],
    ['create', 'apiextensions.k8s.io', 'customresourcedefinitions', '', false],
    ['*', '*', '*', '', false],
  ];

  it.each(table)('%s %s/%s (%s) → allowed %s', async (verb, group, resource, subresource, allowed) => {
    const { release } = inject('e2e');
    const attributes = { namespace: 'some-team', verb, group, resource, ...(subresource ? { subresource } : {}) };
    expect(await mayDo(release.namespace, `${release.name}-agent-orchestrator`, attributes)).toBe(allowed);
  });

  // hooks.signingSecrets in e2e/values.yaml names hooks-signing, agents.docker.secrets names
  // llm-key: those Secrets, read by name, and no other.
  it.each([
    ['get', 'hooks-signing', true],
    ['get', 'llm-key', true],
    ['update', 'llm-key', false],
    ['get', 'another-secret', false],
    ['list', '', false],
    ['update', 'hooks-signing', false],
  ] as const)('%s secrets %s → allowed %s', async (verb, name, allowed) => {
    const { release } = inject('e2e');
    const attributes = { namespace: 'some-team', verb, group: '', resource: 'secrets', ...(name ? { name } : {}) };
    expect(await mayDo(release.namespace, `${release.name}-agent-orchestrator`, attributes)).toBe(allowed);
  });
});

describe('plugin settings are checked at apply time (the chart’s plugin ValidatingAdmissionPolicy)', () => {
  const ns = useNamespace('e2e-plugin-admission-');
  const Policies = resourceOfKind(policyKind);
  const create = (plugins: Record<string, unknown>): Promise<unknown> =>
    admin.request('POST', collectionPath(Policies, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'OrchestratorPolicy', metadata: { name: 'default' }, spec: { plugins } },
      query: { dryRun: 'All' },
    });

  it.each([
    [
      { 'circuit-breaker': { failureThreshold: 0 } },
      'spec.plugins.circuit-breaker.failureThreshold must be a whole number from 1 to 1000 (plugin circuit-breaker)',
    ],
    [
      { 'circuit-breaker': { cooldownSeconds: 'a minute' } },
      'spec.plugins.circuit-breaker.cooldownSeconds must be a whole number from 1 to 86400 (plugin circuit-breaker)',
    ],
    [{ anomaly: { threshold: 0.5 } }, 'spec.plugins.anomaly.threshold must be a number from 1 to 20 (plugin anomaly)'],
    [
      { anomaly: { failureRateThreshold: 'half' } },
      'spec.plugins.anomaly.failureRateThreshold must be a number from 0.01 to 1 (plugin anomaly)',
    ],
    [{ anomaly: { consecutiveTasks: 2.5 } }, 'spec.plugins.anomaly.consecutiveTasks must be a whole number from 1 to 30 (plugin anomaly)'],
    [
      { 'production-slo': { slos: [{ name: 'q', indicator: 'QueueDepth', objectivePercent: 99 }] } },
      'spec.plugins.production-slo.slos[].indicator must be one of AssignmentLatency, EndToEndLatency, SuccessRatio, QueueAge (plugin production-slo)',
    ],
    [
      { 'production-slo': { slos: [{ name: 's', indicator: 'SuccessRatio', objectivePercent: 100 }] } },
      'spec.plugins.production-slo.slos[].objectivePercent must be a number from 50 to 99.999 (plugin production-slo)',
    ],
  ])('refuses %j naming the field', async (plugins, message) => {
    // The policy binds a moment after install; retry until it answers.
    const refused = await waitFor('the plugin admission policy to refuse', async () => refusal(create(plugins)));
    expect(refused.status).toBe(422);
    expect(refused.message).toContain(message);
  });

  it('admits good settings', async () => {
    await expect(create({ 'circuit-breaker': { failureThreshold: 3, cooldownSeconds: 30 } })).resolves.toBeDefined();
    // Whole numbers are numbers too: CEL sees 4 as an int, 3.5 as a double.
    await expect(create({ anomaly: { threshold: 4, alpha: 0.2, failureRateThreshold: 1, consecutiveTasks: 3 } })).resolves.toBeDefined();
    await expect(
      create({ 'production-slo': { slos: [{ name: 'a', indicator: 'AssignmentLatency', thresholdSeconds: 5, objectivePercent: 99 }] } }),
    ).resolves.toBeDefined();
  });

  it('lets only the operator write a pre-assignment answer on a Task (hooks), whoever else can edit Tasks', async () => {
    const task = (annotations: Record<string, string>): Promise<unknown> =>
      admin.request('POST', collectionPath(Tasks, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Task',
          metadata: { name: 'self-approved', annotations },
          spec: { requiredCapabilities: ['x'] },
        },
        query: { dryRun: 'All' },
      });
    const refused = await waitFor('the plugin admission policy to refuse', async () =>
      refusal(task({ 'hooks.agents.orchestrator.dev/verdict': 'allow' })),
    );
    expect(refused.status).toBe(403);
    expect(refused.message).toContain('only the operator writes them');
    await expect(task({ 'example.com/owner': 'me' })).resolves.toBeDefined();
  });
});
