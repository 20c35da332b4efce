// kwok nodes for a benchmark: hack/control-plane.sh is the one place that knows how to
// make a fake node and wait for it to be Ready; a benchmark asks it for a count and puts
// the count back when done, so a thousand nodes' heartbeats do not weigh on whatever
// runs on the shared plane next.
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { ObjectList } from '../operator/src/runtime/rest/object.ts';
import { objectPath } from '../operator/src/runtime/rest/resource.ts';
import { Nodes, collectionPath } from './resources.ts';
import { pool } from './load.ts';
import { hack } from './support.ts';

export async function kwokNodeNames(client: RestClient): Promise<string[]> {
  const list = await client.request<ObjectList>('GET', collectionPath(Nodes), { query: { labelSelector: 'type=kwok' } });
  return list.items.map((n) => n.metadata.name ?? '').sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/**
 * At least `count` Ready kwok nodes (kwok-node-0 .. count-1); the returned function puts
 * the plane back to the count it had.
 */
export async function useKwokNodes(client: RestClient, count: number): Promise<() => void> {
  const before = (await kwokNodeNames(client)).length;
  if (before < count) {
    process.stderr.write(`scaling kwok nodes ${before} -> ${count}...\n`);
    hack('control-plane.sh', 'nodes', String(count));
  }
  return () => {
    if (before < count) hack('control-plane.sh', 'nodes', String(before));
  };
}

/** Sets (a string) or removes (null) labels on nodes. */
export async function labelNodes(
  client: RestClient,
  names: readonly string[],
  labels: (name: string, i: number) => Record<string, string | null>,
): Promise<void> {
  await pool(
    names.map((name, i) => ({ name, i })),
    32,
    ({ name, i }) =>
      client.request('PATCH', objectPath(Nodes, undefined, name), {
        body: { metadata: { labels: labels(name, i) } },
        contentType: 'application/merge-patch+json',
      }),
  );
}
