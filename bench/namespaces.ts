// A namespace per benchmark run, and its removal. Removal is fast and complete before the
// next measurement: a plane still deleting thousands of objects slows everything on it
// several times over (docs/tasks.md), and an Agent whose operator has stopped keeps its
// finalizer forever.
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject, ObjectList } from '../operator/src/runtime/rest/object.ts';
import { Pods, collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { exists, pool, sleep } from './load.ts';
import { Namespaces } from './resources.ts';

export async function createNamespace(client: RestClient, name: string): Promise<void> {
  await client.request('POST', collectionPath(Namespaces), { body: { metadata: { name } } });
}

/**
 * Deletes a namespace and waits until it is gone. Pods are removed at once (no grace:
 * nothing runs in them on kwok), Agents lose their finalizers first (the operator that
 * would release them may be stopped), and each collection goes in one request.
 */
export async function deleteNamespace(client: RestClient, namespace: string, timeoutMs = 600_000): Promise<void> {
  if (!(await exists(client, objectPath(Namespaces, undefined, namespace)))) return;
  process.stderr.write(`deleting namespace ${namespace}...\n`);
  const Agents = resourceOfKind(agentKind);
  const agents = await client.request<ObjectList>('GET', collectionPath(Agents, namespace)).catch(() => ({ items: [] as KubeObject[] }));
  const held = agents.items.filter((a) => (a.metadata.finalizers ?? []).length > 0).map((a) => a.metadata.name ?? '');
  await pool(held, 32, (name) =>
    client
      .request('PATCH', objectPath(Agents, namespace, name), {
        body: { metadata: { finalizers: null } },
        contentType: 'application/merge-patch+json',
      })
      .catch(() => undefined),
  );
  const now = { gracePeriodSeconds: 0 };
  await Promise.all(
    [Pods, Agents, resourceOfKind(taskKind)].map((r) =>
      client.request('DELETE', collectionPath(r, namespace), { query: now, timeoutMs: timeoutMs }).catch(() => undefined),
    ),
  );
  await client.request('DELETE', objectPath(Namespaces, undefined, namespace)).catch(() => undefined);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (!(await exists(client, objectPath(Namespaces, undefined, namespace)))) return;
    if (performance.now() > deadline) throw new Error(`namespace ${namespace} was not gone within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(500);
  }
}
