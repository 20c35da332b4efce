import { afterEach, describe, expect, it } from 'vitest';
import { Informer, watchListQuery } from '../../../operator/src/runtime/cache/informer.ts';
import { labelIndex } from '../../../operator/src/runtime/cache/store.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { ConfigMaps, collectionPath, objectPath } from '../../../operator/src/runtime/rest/resource.ts';
import { RestClient } from '../../../operator/src/runtime/rest/client.ts';
import { FakeClock } from '../../support/fake-clock.ts';
import { adminKubeConfig, useNamespace } from '../../support/kube.ts';
import { metricValue, testClient, testLogger, testMetrics } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const configMap = (namespace: string, name: string, labels: Record<string, string>, data = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels },
  data,
});

describe('Informer against a real API server', () => {
  const ns = useNamespace('informer-');
  const stops: AbortController[] = [];
  afterEach(() => {
    for (const s of stops.splice(0)) s.abort();
  });

  function start(informer: Informer<KubeObject>): Promise<void> {
    const stop = new AbortController();
    stops.push(stop);
    return informer.run(stop.signal);
  }

  const create = (obj: KubeObject): Promise<KubeObject> => client.request('POST', collectionPath(ConfigMaps, ns.name), { body: obj });

  it.each([
    { how: 'a streaming list (watch-list)', watchList: true, suite: 'crud-stream' },
    { how: 'paged lists', watchList: false, suite: 'crud-paged' },
  ])('fills the cache with $how, then follows creates, updates and deletes, with indexes', async ({ watchList, suite }) => {
    for (const [name, team] of [
      ['a1', 'a'],
      ['a2', 'a'],
      ['b1', 'b'],
    ] as const) {
      await create(configMap(ns.name, `${suite}-${name}`, { suite, team }));
    }
    const metrics = testMetrics();
    const informer = new Informer<KubeObject>({
      client: testClient(metrics),
      resource: ConfigMaps,
      namespace: ns.name,
      labelSelector: `suite=${suite}`,
      indexers: { team: labelIndex('team') },
      watchList,
      pageSize: 2,
      logger: testLogger(),
      metrics: metrics.informer,
    });
    const events: string[] = [];
    informer.addHandler({
      onAdd: (o, initial) => events.push(`add ${o.metadata.name ?? ''}${initial ? ' (initial)' : ''}`),
      onUpdate: (_old, o) => events.push(`update ${o.metadata.name ?? ''}`),
      onDelete: (o) => events.push(`delete ${o.metadata.name ?? ''}`),
    });
    void start(informer);
    expect(await informer.waitForSync()).toBe(true);
    // Pages of 2: two list requests, or none at all when the watch brought the objects.
    const lists = await metricValue(metrics, 'agent_orchestrator_client_requests_total', { verb: 'GET', resource: 'configmaps' });
    expect(lists).toBe(watchList ? 0 : 2);
    expect(events.sort()).toEqual([`add ${suite}-a1 (initial)`, `add ${suite}-a2 (initial)`, `add ${suite}-b1 (initial)`]);
    expect(
      informer
        .byIndex('team', 'a')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual([`${suite}-a1`, `${suite}-a2`]);
    // The cache keeps neither managedFields nor list items without a kind.
    for (const o of informer.list()) {
      expect(o.metadata.managedFields).toBeUndefined();
      expect([o.apiVersion, o.kind]).toEqual(['v1', 'ConfigMap']);
    }

    events.length = 0;
    await create(configMap(ns.name, `${suite}-b2`, { suite, team: 'b' }));
    const a1 = informer.get(`${ns.name}/${suite}-a1`);
    await client.request('PUT', objectPath(ConfigMaps, ns.name, `${suite}-a1`), {
      body: { ...a1, metadata: { ...a1?.metadata, labels: { suite, team: 'b' } } },
    });
    await client.request('DELETE', objectPath(ConfigMaps, ns.name, `${suite}-a2`));
    await create(configMap(ns.name, `${suite}-other`, { suite: 'elsewhere' }));

    await waitFor('the cache to converge', async () =>
      informer.list().length === 3 && informer.byIndex('team', 'b').length === 3 ? true : undefined,
    );
    expect(events).toEqual([`add ${suite}-b2`, `update ${suite}-a1`, `delete ${suite}-a2`]);
    expect(informer.byIndex('team', 'a')).toEqual([]);
    expect(informer.get(`${ns.name}/${suite}-other`)).toBeUndefined();
    expect(await metricValue(metrics, 'agent_orchestrator_informer_objects', { resource: 'configmaps' })).toBe(3);
  });

  it('counts the objects of every informer of a resource in one gauge (one informer per watched namespace)', async () => {
    for (const name of ['a1', 'a2', 'b1']) await create(configMap(ns.name, `sum-${name}`, { suite: `sum-${name[0] ?? ''}` }));
    const metrics = testMetrics();
    const informers = ['sum-a', 'sum-b'].map(
      (suite) =>
        new Informer<KubeObject>({
          client: testClient(metrics),
          resource: ConfigMaps,
          namespace: ns.name,
          labelSelector: `suite=${suite}`,
          logger: testLogger(),
          metrics: metrics.informer,
        }),
    );
    for (const informer of informers) void start(informer);
    for (const informer of informers) expect(await informer.waitForSync()).toBe(true);
    expect(await metricValue(metrics, 'agent_orchestrator_informer_objects', { resource: 'configmaps' })).toBe(3);
    await client.request('DELETE', objectPath(ConfigMaps, ns.name, 'sum-a2'));
    await waitFor('the gauge to follow the delete', async () =>
      (await metricValue(metrics, 'agent_orchestrator_informer_objects', { resource: 'configmaps' })) === 2 ? true : undefined,
    );
  });

  it('takes over the watch-list its client opened ahead of it (the operator does so before its controllers load)', async () => {
    for (const name of ['p1', 'p2']) await create(configMap(ns.name, name, { suite: 'prefetch' }));
    const metrics = testMetrics();
    const prefetching = testClient(metrics);
    await prefetching.prefetchWatch(collectionPath(ConfigMaps, ns.name), watchListQuery({ labelSelector: 'suite=prefetch' }));
    // Written after the server answered the prefetch: the stream it opened brings it as well.
    await create(configMap(ns.name, 'p3', { suite: 'prefetch' }));
    const informer = new Informer<KubeObject>({
      client: prefetching,
      resource: ConfigMaps,
      namespace: ns.name,
      labelSelector: 'suite=prefetch',
      logger: testLogger(),
      metrics: metrics.informer,
    });
    void start(informer);
    expect(await informer.waitForSync()).toBe(true);
    await waitFor('p3 in the cache', () => informer.get(`${ns.name}/p3`));
    expect(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['p1', 'p2', 'p3']);
    const requests = (verb: string): Promise<number> =>
      metricValue(metrics, 'agent_orchestrator_client_requests_total', { verb, resource: 'configmaps' });
    expect([await requests('WATCH'), await requests('GET')]).toEqual([1, 0]);
  });

  it('caches what its transform keeps, from the list and from the watch, and takes a transform only before it runs', async () => {
    await create(configMap(ns.name, 'listed', { suite: 'transform' }, { big: 'x'.repeat(1000), small: 'kept' }));
    const dropBig = (o: KubeObject): KubeObject => ({ ...o, data: { small: (o.data as Record<string, string>).small ?? '' } });
    const informer = new Informer<KubeObject>({
      client,
      resource: ConfigMaps,
      namespace: ns.name,
      labelSelector: 'suite=transform',
      logger: testLogger(),
    });
    informer.setTransform(dropBig);
    informer.setTransform(dropBig);
    expect(() => {
      informer.setTransform((o) => o);
    }).toThrow(/a transform is set once, before it runs/);
    void start(informer);
    await informer.waitForSync();
    await create(configMap(ns.name, 'watched', { suite: 'transform' }, { big: 'y'.repeat(1000), small: 'kept too' }));
    await waitFor('the watched object', async () => informer.get(`${ns.name}/watched`));
    expect(informer.list().map((o) => [o.metadata.name, o.data])).toEqual(
      expect.arrayContaining([
        ['listed', { small: 'kept' }],
        ['watched', { small: 'kept too' }],
      ]),
    );
  });

  it('keeps a watch open past the request deadline (it covers only the wait for headers)', async () => {
    const clock = new FakeClock(Date.now());
    let armed = 0;
    const setTimer = clock.setTimer.bind(clock);
    clock.setTimer = (ms, fn) => {
      armed++;
      return setTimer(ms, fn);
    };
    const slowClient = new RestClient(adminKubeConfig(), { clock });
    const stop = new AbortController();
    stops.push(stop);
    const events = slowClient.watch<KubeObject>(collectionPath(ConfigMaps, ns.name), { labelSelector: 'suite=long-watch' }, stop.signal);
    const first = events.next();
    // The deadline was set for the request and cleared once the headers came back.
    await waitFor('the watch to be established', () => (armed === 1 && clock.pending() === 0 ? true : undefined));
    await clock.advance(120_000);
    await create(configMap(ns.name, 'late', { suite: 'long-watch' }));
    const result = await first;
    if (result.done) throw new Error('the watch ended');
    expect([result.value.type, result.value.object.metadata.name]).toEqual(['ADDED', 'late']);
    stop.abort();
    await slowClient.close();
  });

  it('catches a handler that throws, and keeps delivering to every handler', async () => {
    const metrics = testMetrics();
    const informer = new Informer<KubeObject>({
      client,
      resource: ConfigMaps,
      namespace: ns.name,
      labelSelector: 'suite=throwing',
      logger: testLogger(),
      metrics: metrics.informer,
    });
    const seen: string[] = [];
    informer.addHandler({
      onAdd: () => {
        throw new Error('handler bug');
      },
    });
    informer.addHandler({ onAdd: (o) => seen.push(o.metadata.name ?? '') });
    void start(informer);
    await informer.waitForSync();
    await create(configMap(ns.name, 't1', { suite: 'throwing' }));
    await create(configMap(ns.name, 't2', { suite: 'throwing' }));
    await waitFor('both objects to reach the second handler', async () => (seen.length === 2 ? seen : undefined));
    expect(seen).toEqual(['t1', 't2']);
    expect(await metricValue(metrics, 'agent_orchestrator_informer_handler_errors_total')).toBe(2);
    expect(informer.list()).toHaveLength(2);
  });

  it('relists when the watch goes silent longer than the watchdog, and resyncs', async () => {
    await create(configMap(ns.name, 'quiet', { suite: 'quiet' }));
    const metrics = testMetrics();
    const informer = new Informer<KubeObject>({
      client,
      resource: ConfigMaps,
      namespace: ns.name,
      labelSelector: 'suite=quiet',
      // Nothing matches after the list, and bookmarks come about once a minute.
      watchdogMs: 1000,
      resyncMs: 300,
      logger: testLogger(),
      metrics: metrics.informer,
    });
    let resyncs = 0;
    informer.addHandler({
      onResync: () => {
        resyncs++;
      },
    });
    void start(informer);
    await informer.waitForSync();
    await waitFor('a watchdog relist', async () =>
      (await metricValue(metrics, 'agent_orchestrator_informer_relists_total', { reason: 'watchdog' })) >= 1 ? true : undefined,
    );
    await waitFor('resyncs', async () => (resyncs >= 2 ? true : undefined));
    expect(informer.list().map((o) => o.metadata.name)).toEqual(['quiet']);
  });
});
