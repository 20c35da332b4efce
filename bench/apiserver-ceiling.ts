// The API server's own ceiling for the kind of write an assignment is: status PATCHes of
// Tasks, as many as it takes with many in flight and no client-side limit, while no
// operator runs. A routing rate means more next to it: the operator can assign no faster
// than the API server writes.
import { API_VERSION } from '../operator/src/api/common.ts';
import { taskKind } from '../operator/src/api/kinds.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import { collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { pool } from './load.ts';
import { summarize, type Summary } from './stats.ts';

const Tasks = resourceOfKind(taskKind);
let measurements = 0;

export interface Ceiling {
  writesPerSecond: number;
  /** Milliseconds per PATCH, answered. */
  latency: Summary;
  concurrency: number;
}

/**
 * `concurrency` workers, each PATCHing the status of a Task of its own (no conflicts) with
 * a new value every time (an unchanged object is not written), for `seconds`.
 */
export async function statusPatchCeiling(client: RestClient, namespace: string, seconds: number, concurrency = 128): Promise<Ceiling> {
  const run = (measurements++).toString();
  const names = Array.from({ length: concurrency }, (_, i) => `ceiling-${run}-${i}`);
  await pool(names, 16, (name) =>
    client.request('POST', collectionPath(Tasks, namespace), {
      // A capability no agent has: were an operator watching, it would leave them alone.
      body: {
        apiVersion: API_VERSION,
        kind: 'Task',
        metadata: { name, labels: { bench: 'ceiling' } },
        spec: { requiredCapabilities: ['bench-ceiling'] },
      },
    }),
  );
  const latency: number[] = [];
  let n = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    names.map(async (name) => {
      while (performance.now() < end) {
        const queuedAt = new Date(Date.UTC(2000, 0, 1) + n++ * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        const start = performance.now();
        await client.request('PATCH', objectPath(Tasks, namespace, name, 'status'), {
          body: { status: { queuedAt } },
          contentType: 'application/merge-patch+json',
        });
        latency.push(performance.now() - start);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  await client.request('DELETE', collectionPath(Tasks, namespace), { query: { labelSelector: 'bench=ceiling' } });
  return { writesPerSecond: latency.length / elapsed, latency: summarize(latency), concurrency };
}
