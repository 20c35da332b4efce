import { afterEach, describe, expect, it } from 'vitest';
import { Informer } from '../../operator/src/runtime/cache/informer.ts';
import { Controller } from '../../operator/src/runtime/controller.ts';
import type { KubeObject } from '../../operator/src/runtime/rest/object.ts';
import { ConfigMaps, PodTemplates, objectPath } from '../../operator/src/runtime/rest/resource.ts';
import { Writer } from '../../operator/src/runtime/writer.ts';
import { useNamespace } from '../support/kube.ts';
import { compactEtcd, restartApiServer } from '../support/plane.ts';
import { metricValue, testClient, testLogger, testMetrics } from '../support/runtime.ts';
import { waitFor } from '../support/wait.ts';

const client = testClient();
const writer = new Writer(client);

describe('informers recover from a failing control plane with no manual action', () => {
  const ns = useNamespace('recovery-');
  const stops: AbortController[] = [];
  afterEach(() => {
    for (const s of stops.splice(0)) s.abort();
  });

  // Writes may hit the API server while it restarts: apply is idempotent, so retry it.
  const put = (
    rt: typeof ConfigMaps,
    name: string,
    labels: Record<string, string>,
    data: Record<string, string> = {},
  ): Promise<KubeObject> =>
    waitFor(`apply ${name}`, () => writer.apply(rt, { metadata: { name, namespace: ns.name, labels }, data }), { timeoutMs: 60_000 });

  it('converges after kube-apiserver is killed and restarted mid-watch', async () => {
    const metrics = testMetrics();
    const informer = new Informer<KubeObject>({
      client,
      resource: ConfigMaps,
      namespace: ns.name,
      labelSelector: 'suite=restart',
      logger: testLogger(),
      metrics: metrics.informer,
    });
    const reconciled = new Set<string>();
    const controller = new Controller({
      name: 'restart',
      logger: testLogger(),
      metrics,
      reconciler: {
        reconcile: async (key) => {
          reconciled.add(key);
          return undefined;
        },
      },
    });
    controller.watch(informer);
    const stop = new AbortController();
    stops.push(stop);
    void informer.run(stop.signal);
    await informer.waitForSync();
    void controller.start(stop.signal, stop.signal);
    await put(ConfigMaps, 'before', { suite: 'restart' });
    await put(ConfigMaps, 'doomed', { suite: 'restart' });
    await waitFor('both reconciled', () => (reconciled.size === 2 ? true : undefined));

    await restartApiServer();

    await put(ConfigMaps, 'after', { suite: 'restart' });
    await put(ConfigMaps, 'before', { suite: 'restart' }, { changed: 'yes' });
    await waitFor('delete doomed', () => client.request('DELETE', objectPath(ConfigMaps, ns.name, 'doomed')), { timeoutMs: 60_000 });

    await waitFor(
      'the cache to converge',
      () => {
        const names = informer
          .list()
          .map((o) => o.metadata.name)
          .sort()
          .join(',');
        return names === 'after,before' && informer.get(`${ns.name}/before`)?.data ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(informer.get(`${ns.name}/before`)?.data).toEqual({ changed: 'yes' });
    await waitFor('the new object to be reconciled', () => (reconciled.has(`${ns.name}/after`) ? true : undefined));
    expect(await metricValue(metrics, 'agent_orchestrator_watch_restarts_total', { reason: 'error' })).toBeGreaterThanOrEqual(1);
  });

  it('relists after 410 Gone when its resourceVersion was compacted away', async () => {
    const metrics = testMetrics();
    const informer = new Informer<KubeObject>({
      client,
      resource: PodTemplates,
      namespace: ns.name,
      labelSelector: 'probe=mine',
      // Short watches, so it resumes (from its old resourceVersion) soon after the compaction.
      watchTimeoutSeconds: () => 2,
      logger: testLogger(),
      metrics: metrics.informer,
    });
    const stop = new AbortController();
    stops.push(stop);
    void informer.run(stop.signal);
    await informer.waitForSync();

    const template = { spec: { containers: [{ name: 'c', image: 'agent-orchestrator/busybox:test' }] } };
    const podTemplate = (name: string, probe: string): KubeObject => ({
      metadata: { name, namespace: ns.name, labels: { probe } },
      template,
    });
    await writer.apply(PodTemplates, podTemplate('mine-1', 'mine'));
    await waitFor('mine-1 in the cache', () => informer.get(`${ns.name}/mine-1`));
    // Changes it does not watch move etcd on; PodTemplates bypass the watch cache, so
    // nothing (no bookmark) moves the informer's resourceVersion with them.
    for (const i of [1, 2, 3]) await writer.apply(PodTemplates, podTemplate(`other-${i}`, 'other'));
    await compactEtcd();

    await waitFor('a relist after 410 Gone', async () =>
      (await metricValue(metrics, 'agent_orchestrator_informer_relists_total', { reason: 'gone' })) >= 1 ? true : undefined,
    );
    await writer.apply(PodTemplates, podTemplate('mine-2', 'mine'));
    await waitFor('mine-2 in the cache', () => informer.get(`${ns.name}/mine-2`));
    expect(
      informer
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['mine-1', 'mine-2']);
  });
});
