import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import { watchListQuery } from '../../../operator/src/runtime/cache/informer.ts';
import { ApiError } from '../../../operator/src/runtime/errors.ts';
import type { RestClient } from '../../../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import {
  RoleBindings,
  Roles,
  ServiceAccounts,
  collectionPath,
  objectPath,
  resourceOfKind,
} from '../../../operator/src/runtime/rest/resource.ts';
import type { AgentRef } from '../../../operator/src/runtimes/runtime.ts';
import { agentAccount, agentRole } from '../../../operator/src/runtimes/kubernetes/agent-rbac.ts';
import { AssignedTasks } from '../../../runner/assigned-tasks.ts';
import { installCrds } from '../../support/crds.ts';
import { serviceAccountClient } from '../../support/identities.ts';
import { useNamespace } from '../../support/kube.ts';
import { testClient, testLogger } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const admin = testClient();
const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);

const statusOf = (err: unknown): number | undefined => (err instanceof ApiError ? err.status : undefined);
const refusal = (request: Promise<unknown>): Promise<number | undefined> => request.then(() => undefined, statusOf);

// What the runner sees of its Tasks through its own Role alone (ADR 0016), no operator running:
// the test writes the Role as the task controller would.
describe("the runner's assigned Tasks, read through its own Role", () => {
  beforeAll(installCrds);
  const ns = useNamespace('assigned-tasks-');
  const stop = new AbortController();
  const events: { type: string; name: string; label?: string | undefined }[] = [];
  let agent: AgentRef;
  let alice: RestClient;
  let tasks: AssignedTasks;

  const create = async (resource: typeof Tasks, body: KubeObject): Promise<KubeObject> =>
    admin.request<KubeObject>('POST', collectionPath(resource, ns.name), { body });
  const names = (): string[] =>
    tasks
      .list()
      .map((t) => t.metadata.name ?? '')
      .sort();
  const seen = (type: string, name: string): boolean => events.some((e) => e.type === type && e.name === name);

  /** Rewrites alice's Role to grant `write` (and read them), as the task controller does. */
  async function grant(write: string[]): Promise<void> {
    const current = await admin.request<KubeObject>('GET', objectPath(Roles, ns.name, 'agent-alice'));
    const role = agentRole(agent, { read: write, write });
    await admin.request('PUT', objectPath(Roles, ns.name, 'agent-alice'), {
      body: { ...role, metadata: { ...role.metadata, resourceVersion: current.metadata.resourceVersion } },
    });
  }

  beforeAll(async () => {
    // A real owner: a Role owned by a uid that does not exist would be garbage collected.
    const owner = await create(Agents, {
      apiVersion: API_VERSION,
      kind: 'Agent',
      metadata: { name: 'alice' },
      spec: { capabilities: ['work'], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' } },
    });
    agent = { namespace: ns.name, name: 'alice', uid: owner.metadata.uid ?? '' };
    const { account, binding } = agentAccount(agent);
    await create(ServiceAccounts, { apiVersion: 'v1', kind: 'ServiceAccount', ...account });
    await create(RoleBindings, { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', ...binding });
    await create(Roles, agentRole(agent, { read: ['t1'], write: ['t1'] }));
    for (const name of ['t1', 't2', 't3'])
      await create(Tasks, { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { input: `echo ${name}` } });
    alice = await serviceAccountClient(admin, inject('kubeconfig'), ns.name, 'agent-alice');
    tasks = new AssignedTasks({ client: alice, namespace: ns.name, agent: 'alice', resyncMs: 30_000, logger: testLogger() });
    const record = (type: string) => (obj: KubeObject) => {
      events.push({ type, name: obj.metadata.name ?? '', label: obj.metadata.labels?.step });
    };
    tasks.addHandler({
      onAdd: record('add'),
      onUpdate: (_old, obj) => {
        record('update')(obj);
      },
      onDelete: record('delete'),
    });
    void tasks.run(stop.signal);
  });

  afterAll(async () => {
    stop.abort();
    await alice.close();
  });

  it('holds the Task its Role names, and follows its changes', async () => {
    // The first reads may be refused while the new binding reaches the authorizer: retried.
    await waitFor('the cache to sync', () => (tasks.hasSynced() ? true : undefined));
    expect(names()).toEqual(['t1']);
    expect(tasks.get(`${ns.name}/t1`)?.metadata.name).toBe('t1');

    await admin.request('PATCH', objectPath(Tasks, ns.name, 't1'), {
      body: { metadata: { labels: { step: 'one' } } },
      contentType: 'application/merge-patch+json',
    });
    await waitFor('the update of t1', () =>
      events.some((e) => e.type === 'update' && e.name === 't1' && e.label === 'one') ? true : undefined,
    );
  });

  it('starts watching a Task the Role comes to name', async () => {
    await grant(['t1', 't2']);
    await waitFor('t2 added', () => (seen('add', 't2') ? true : undefined), { describe: () => JSON.stringify(events) });
    expect(names()).toEqual(['t1', 't2']);
    expect(seen('add', 't3')).toBe(false);
  });

  it('reports a Task the Role no longer names as deleted, though its watch is still open', async () => {
    await grant(['t2']);
    await waitFor('t1 deleted', () => (seen('delete', 't1') ? true : undefined), { describe: () => JSON.stringify(events) });
    expect(names()).toEqual(['t2']);
    expect(tasks.get(`${ns.name}/t1`)).toBeUndefined();
    expect(seen('delete', 't2')).toBe(false);
  });

  it('is all the agent may read: no list of every Task, no Task its Role does not name', async () => {
    await expect(refusal(alice.request('GET', collectionPath(Tasks, ns.name)))).resolves.toBe(403);
    await expect(refusal(alice.request('GET', objectPath(Tasks, ns.name, 't3')))).resolves.toBe(403);
    await expect(
      refusal(alice.request('GET', collectionPath(Tasks, ns.name), { query: { fieldSelector: 'metadata.name=t3' } })),
    ).resolves.toBe(403);
    await waitFor('t1 refused once revoked', async () =>
      (await refusal(alice.request('GET', objectPath(Tasks, ns.name, 't1')))) === 403 ? true : undefined,
    );
    // A watch-list (sendInitialEvents) by name is authorized by resourceNames: the informer's own way to fill its cache.
    const first = await (async () => {
      for await (const event of alice.watch(
        collectionPath(Tasks, ns.name),
        { ...watchListQuery({ fieldSelector: 'metadata.name=t2' }), timeoutSeconds: 5 },
        AbortSignal.timeout(10_000),
      ))
        return event;
      return undefined;
    })();
    expect(first?.type).toBe('ADDED');
    expect(first?.object.metadata.name).toBe('t2');
  });
});
