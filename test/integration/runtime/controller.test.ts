import { afterEach, describe, expect, it } from 'vitest';
import { Informer } from '../../../operator/src/runtime/cache/informer.ts';
import { Controller, type Reconciler } from '../../../operator/src/runtime/controller.ts';
import { TerminalError, isConflict, messageOf } from '../../../operator/src/runtime/errors.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { ConfigMaps, collectionPath, objectPath } from '../../../operator/src/runtime/rest/resource.ts';
import { useNamespace } from '../../support/kube.ts';
import { metricValue, testClient, testLogger, testMetrics } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();

describe('Controller against a real API server', () => {
  const ns = useNamespace('controller-');
  const stops: AbortController[] = [];
  afterEach(() => {
    for (const s of stops.splice(0)) s.abort();
  });

  /**
   * Runs a controller on ConfigMaps labelled suite=<suite>; returns its metrics. A reconciler
   * given as a function gets the controller's cache, to read what each reconcile saw.
   */
  async function run(
    suite: string,
    reconciler: Reconciler | ((cache: Informer<KubeObject>) => Reconciler),
    workers = 1,
  ): Promise<ReturnType<typeof testMetrics>> {
    const metrics = testMetrics();
    const informer = new Informer<KubeObject>({
      client,
      resource: ConfigMaps,
      namespace: ns.name,
      labelSelector: `suite=${suite}`,
      logger: testLogger(),
      metrics: metrics.informer,
    });
    const controller = new Controller({
      name: suite,
      reconciler: typeof reconciler === 'function' ? reconciler(informer) : reconciler,
      workers,
      logger: testLogger(),
      metrics,
    });
    controller.watch(informer);
    const stop = new AbortController();
    stops.push(stop);
    void informer.run(stop.signal);
    await informer.waitForSync();
    void controller.start(stop.signal, stop.signal);
    return metrics;
  }

  const create = (suite: string, name: string, data: Record<string, string> = {}): Promise<KubeObject> =>
    client.request('POST', collectionPath(ConfigMaps, ns.name), {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { suite } }, data },
    });

  it('reconciles every changed key, never one key twice at once', async () => {
    const running = new Set<string>();
    let overlaps = 0;
    // The rounds each key's reconciles found in the cache: creation alone gives a reconcile,
    // so only one that saw the last round proves the change itself was reconciled.
    const roundsSeen = new Map<string, Set<string | undefined>>();
    await run(
      'busy',
      (cache) => ({
        reconcile: async (key) => {
          if (running.has(key)) overlaps++;
          running.add(key);
          const seen = roundsSeen.get(key) ?? new Set();
          roundsSeen.set(key, seen.add((cache.get(key)?.data as Record<string, string> | undefined)?.round));
          await new Promise((resolve) => setTimeout(resolve, 5));
          running.delete(key);
          return undefined;
        },
      }),
      4,
    );
    const names = Array.from({ length: 12 }, (_, i) => `cm-${i}`);
    await Promise.all(names.map((n) => create('busy', n)));
    // Changes while a key is being reconciled must lead to one more reconcile, not a parallel one.
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        names.map((n) =>
          client.request('PATCH', objectPath(ConfigMaps, ns.name, n), {
            body: { data: { round: String(round) } },
            contentType: 'application/merge-patch+json',
          }),
        ),
      );
    }
    await waitFor(
      'every key to be reconciled after its last change',
      async () => (names.every((n) => roundsSeen.get(`${ns.name}/${n}`)?.has('2')) ? true : undefined),
      { describe: () => names.map((n) => `${n}: saw rounds ${JSON.stringify([...(roundsSeen.get(`${ns.name}/${n}`) ?? [])])}`).join('\n') },
    );
    expect(overlaps).toBe(0);
  });

  it('retries a failing reconcile with backoff until it succeeds, without crashing', async () => {
    let calls = 0;
    const metrics = await run('flaky', {
      reconcile: async () => {
        calls++;
        if (calls <= 3) throw new Error(`transient failure ${calls}`);
        return undefined;
      },
    });
    await create('flaky', 'f');
    await waitFor('a successful reconcile', async () =>
      (await metricValue(metrics, 'controller_runtime_reconcile_total', { result: 'success' })) === 1 ? true : undefined,
    );
    expect(calls).toBe(4);
    expect(await metricValue(metrics, 'controller_runtime_reconcile_errors_total')).toBe(3);
    expect(await metricValue(metrics, 'workqueue_retries_total', { name: 'flaky' })).toBe(3);
  });

  it('does not retry a TerminalError', async () => {
    const calls = new Map<string, number>();
    const metrics = await run('terminal', {
      reconcile: async (key) => {
        calls.set(key, (calls.get(key) ?? 0) + 1);
        if (key.endsWith('/bad')) throw new TerminalError('spec cannot be acted on');
        return undefined;
      },
    });
    await create('terminal', 'bad');
    await waitFor('the terminal error', async () =>
      (await metricValue(metrics, 'controller_runtime_terminal_reconcile_errors_total')) === 1 ? true : undefined,
    );
    // A later key goes through the same queue; by then a retry of `bad` would have shown.
    await create('terminal', 'good');
    await waitFor('the next key', async () => (calls.get(`${ns.name}/good`) === 1 ? true : undefined));
    expect(calls.get(`${ns.name}/bad`)).toBe(1);
    expect(await metricValue(metrics, 'workqueue_retries_total', { name: 'terminal' })).toBe(0);
  });

  it('requeues a 409 Conflict quietly and succeeds on fresh data', async () => {
    const stale = await create('conflict', 'c', { v: '0' });
    // Someone else writes first: the object the reconciler holds is now stale.
    await client.request('PATCH', objectPath(ConfigMaps, ns.name, 'c'), {
      body: { data: { v: '1' } },
      contentType: 'application/merge-patch+json',
    });
    let attempts = 0;
    const writes: string[] = [];
    const metrics = await run('conflict', {
      reconcile: async (key) => {
        attempts++;
        const [namespace, name = ''] = key.split('/');
        const current = attempts === 1 ? stale : await client.request<KubeObject>('GET', objectPath(ConfigMaps, namespace, name));
        try {
          await client.request('PUT', objectPath(ConfigMaps, namespace, name), {
            body: { ...current, data: { v: 'reconciled' } },
          });
        } catch (err) {
          writes.push(isConflict(err) ? 'conflict' : messageOf(err));
          throw err;
        }
        writes.push('written');
        return undefined;
      },
    });
    // Our own write changes the ConfigMap and so may be reconciled again: at least one success.
    await waitFor('the write on fresh data', async () =>
      (await metricValue(metrics, 'controller_runtime_reconcile_total', { result: 'success' })) >= 1 ? true : undefined,
    );
    // The success is the requeued reconcile right after the conflict, not a later one.
    expect(writes.slice(0, 2)).toEqual(['conflict', 'written']);
    expect(await metricValue(metrics, 'controller_runtime_reconcile_total', { result: 'requeue' })).toBe(1);
    expect(await metricValue(metrics, 'controller_runtime_reconcile_errors_total')).toBe(0);
    const written = await client.request<KubeObject>('GET', objectPath(ConfigMaps, ns.name, 'c'));
    expect(written.data).toEqual({ v: 'reconciled' });
  });

  it('reconciles again after requeueAfter', async () => {
    const times: number[] = [];
    await run('periodic', {
      reconcile: async () => {
        times.push(Date.now());
        return times.length < 3 ? { requeueAfter: 200 } : undefined;
      },
    });
    await create('periodic', 'p');
    await waitFor('three reconciles', async () => (times.length === 3 ? times : undefined));
    const [t0 = 0, t1 = 0, t2 = 0] = times;
    expect(t1 - t0).toBeGreaterThanOrEqual(190);
    expect(t2 - t1).toBeGreaterThanOrEqual(190);
  });
});
