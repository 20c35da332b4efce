import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AGENT_LABEL, API_VERSION } from '../operator/src/api/common.ts';
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import { ApiError } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Leases, collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { useNamespace } from '../test/support/kube.ts';
import { testClient } from '../test/support/runtime.ts';
import { waitFor } from '../test/support/wait.ts';
import { agentClient } from '../test/support/identities.ts';

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

describe('an agent writes only what is its own (the chart’s ValidatingAdmissionPolicy)', () => {
  const ns = useNamespace('e2e-sec-');
  let alice: RestClient;
  beforeAll(async () => {
    // Two Agents the operator gives ServiceAccounts to; no runner is needed here.
    for (const name of ['alice', 'bob']) {
      await admin.request('POST', collectionPath(Agents, ns.name), {
        body: { apiVersion: API_VERSION, kind: 'Agent', metadata: { name }, spec: { capabilities: ['x'], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' } } },
      });
    }
    await waitFor('the agents’ ServiceAccounts', async () => {
      await admin.request('GET', `/api/v1/namespaces/${ns.name}/serviceaccounts/agent-alice`);
      await admin.request('GET', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns.name}/rolebindings/agent-alice`);
      return true;
    });
    alice = await agentClient(admin, inject('e2e').kubeconfig, ns.name, 'alice');
  });
  afterAll(async () => {
    await alice.close();
  });

  // A task as the router leaves it: assigned to `agent`, attempt 1.
  async function assignedTask(name: string, agent: string): Promise<KubeObject> {
    const t = await admin.request<KubeObject>('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name, labels: { [AGENT_LABEL]: agent } }, spec: { requiredCapabilities: ['nobody-has-this'] } },
    });
    return admin.request<KubeObject>('PUT', `${objectPath(Tasks, ns.name, name)}/status`, {
      body: { ...t, status: { phase: 'Assigned', attempts: 1, assignment: { agent, attempt: 1, assignedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } } },
    });
  }
  // As the runner claims: on the version it reads, again on a conflict (the operator
  // writes the task too, e.g. its conditions).
  async function claim(c: RestClient, t: KubeObject): Promise<unknown> {
    const path = objectPath(Tasks, ns.name, t.metadata.name ?? '');
    for (let attempt = 0; ; attempt++) {
      const current = attempt === 0 ? t : await admin.request<KubeObject>('GET', path);
      try {
        return await c.request('PUT', `${path}/status`, { body: { ...current, status: { ...(current.status ?? {}), phase: 'Running' } } });
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 409) || attempt >= 5) throw err;
      }
    }
  }

  it('lets an agent write the task assigned to it', async () => {
    const mine = await assignedTask('for-alice', 'alice');
    expect(await refusal(claim(alice, mine))).toBeUndefined();
  });

  it("refuses an agent's write to another agent's task, naming both", async () => {
    const theirs = await assignedTask('for-bob', 'bob');
    const refused = await refusal(claim(alice, theirs));
    expect(refused?.status).toBe(403);
    expect(refused?.message).toContain('agent alice may write only the Tasks assigned to it; for-bob is assigned to bob');
  });

  it('refuses taking over a task by reassigning it', async () => {
    const mine = await assignedTask('steal', 'alice');
    const status = mine.status as { assignment: { agent: string } };
    const takeover = alice.request('PUT', `${objectPath(Tasks, ns.name, 'steal')}/status`, { body: { ...mine, status: { ...status, assignment: { ...status.assignment, agent: 'bob' } } } });
    expect((await refusal(takeover))?.status).toBe(403);
  });

  it("refuses writing another agent's heartbeat Lease or status", async () => {
    const lease = alice.request('POST', collectionPath(Leases, ns.name), {
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'agent-bob' }, spec: { holderIdentity: 'alice' } },
    });
    const leaseRefused = await refusal(lease);
    expect(leaseRefused?.status).toBe(403);
    expect(leaseRefused?.message).toContain('agent alice may write only its own heartbeat Lease agent-alice');
    const own = alice.request('POST', collectionPath(Leases, ns.name), {
      body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'agent-alice' }, spec: { holderIdentity: 'alice' } },
    });
    expect(await refusal(own)).toBeUndefined();
    const status = alice.request('PATCH', `${objectPath(Agents, ns.name, 'bob')}/status`, {
      body: { status: { stats: { succeeded: 1000, failed: 0, consecutiveFailures: 0 } } },
      contentType: 'application/merge-patch+json',
    });
    const statusRefused = await refusal(status);
    expect(statusRefused?.status).toBe(403);
    expect(statusRefused?.message).toContain('agent alice may write only its own status, not that of Agent bob');
  });

  it('gives an agent no power beyond its Role (RBAC)', async () => {
    const create = alice.request('POST', collectionPath(Tasks, ns.name), { body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name: 'forged' }, spec: {} } });
    expect((await refusal(create))?.status).toBe(403);
    expect((await refusal(alice.request('GET', `/api/v1/namespaces/${ns.name}/secrets`)))?.status).toBe(403);
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
    ['create', '', 'serviceaccounts', 'token', true],
    ['patch', 'rbac.authorization.k8s.io', 'rolebindings', '', true],
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
    ['create', 'apps', 'deployments', '', false],
    ['list', '', 'nodes', '', false],
    ['create', 'rbac.authorization.k8s.io', 'clusterroles', '', false],
    ['bind', 'rbac.authorization.k8s.io', 'clusterroles', '', false],
    ['escalate', 'rbac.authorization.k8s.io', 'roles', '', false],
    ['delete', 'coordination.k8s.io', 'leases', '', false],
    ['create', 'apiextensions.k8s.io', 'customresourcedefinitions', '', false],
    ['*', '*', '*', '', false],
  ];

  it.each(table)('%s %s/%s (%s) → allowed %s', async (verb, group, resource, subresource, allowed) => {
    const { release } = inject('e2e');
    const sa = `${release.name}-agent-orchestrator`;
    const review = await admin.request<{ status: { allowed: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: `system:serviceaccount:${release.namespace}:${sa}`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${release.namespace}`, 'system:authenticated'],
          resourceAttributes: { namespace: 'some-team', verb, group, resource, ...(subresource ? { subresource } : {}) },
        },
      },
    });
    expect(review.status.allowed).toBe(allowed);
  });
});
