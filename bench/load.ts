// Offered load: items created at a steady rate or all at once, and the first moment a
// watch saw each item reach a state. Times are performance.now() milliseconds.
import { API_VERSION } from '../operator/src/api/common.ts';
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import type { SharedInformer } from '../operator/src/runtime/cache/informer-group.ts';
import { isNotFound } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { collectionPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` over the items with at most `concurrency` in flight. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await fn(item);
      }
    }),
  );
}

/**
 * Starts `fn` for item i at start + i / rate seconds, whether or not earlier ones have
 * answered (an open-loop load: a slow server does not slow the offered rate down).
 */
export async function steady<T>(items: readonly T[], ratePerSecond: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < items.length; i++) {
    const wait = t0 + (i * 1000) / ratePerSecond - performance.now();
    if (wait > 0) await sleep(wait);
    pending.push(fn(items[i] as T));
  }
  await Promise.all(pending);
}

/** Polls `probe` until it holds; throws naming `what` past the deadline. */
export async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await probe())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(20);
  }
}

/** When a watch first saw each object (by name) in a state. */
export function firstSeen(informer: SharedInformer<KubeObject>, reached: (o: KubeObject) => boolean): Map<string, number> {
  const seen = new Map<string, number>();
  const look = (o: KubeObject): void => {
    const name = o.metadata.name ?? '';
    if (!seen.has(name) && reached(o)) seen.set(name, performance.now());
  };
  informer.addHandler({
    onAdd: look,
    onUpdate: (_old, o) => {
      look(o);
    },
  });
  return seen;
}

/** Waits until every name has been seen. */
export async function allSeen(what: string, seen: ReadonlyMap<string, number>, names: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let missing = names.filter((n) => !seen.has(n));
  while (missing.length > 0) {
    if (performance.now() > deadline)
      throw new Error(`${missing.length} of ${names.length} ${what} within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(50);
    missing = missing.filter((n) => !seen.has(n));
  }
}

/** Whether an object exists (false on 404; other errors are thrown). */
export async function exists(client: RestClient, objectPath: string): Promise<boolean> {
  try {
    await client.request('GET', objectPath);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * Creates `count` Agents agent-0... on kwok (capability `work`, two tasks each) and waits
 * until `agents` (a cache of the namespace's Agents) shows them all Ready or Busy.
 */
export async function readyAgents(client: RestClient, namespace: string, agents: SharedInformer<KubeObject>, count: number): Promise<void> {
  await pool(
    Array.from({ length: count }, (_, i) => `agent-${i}`),
    8,
    (name) =>
      client.request('POST', collectionPath(resourceOfKind(agentKind), namespace), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Agent',
          metadata: { name },
          spec: { capabilities: ['work'], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' }, maxConcurrentTasks: 2 },
        },
      }),
  );
  const ready = (a: KubeObject): boolean => ['Ready', 'Busy'].includes((a.status as { phase?: string } | undefined)?.phase ?? '');
  await until(`${count} agents Ready`, () => agents.list().filter(ready).length === count, 180_000);
}

/**
 * Open-loop load: creates Tasks task-0, task-1, ... (capability `work`) at `rate` a second
 * while `more(i)`, never waiting for one to be placed, and records in `created` when each
 * was sent.
 */
export async function offerTasks(
  client: RestClient,
  namespace: string,
  rate: number,
  more: (i: number) => boolean,
  created: Map<string, number>,
): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; more(i); i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const name = `task-${i}`;
    created.set(name, performance.now());
    void client
      .request('POST', collectionPath(resourceOfKind(taskKind), namespace), {
        body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: ['work'] } },
      })
      .catch(() => undefined);
  }
}
