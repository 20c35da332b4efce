import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../operator/src/config/config.ts';
import { Controller } from '../../../operator/src/runtime/controller.ts';
import { Manager } from '../../../operator/src/runtime/manager.ts';
import { microTime, type KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { ConfigMaps, Leases, collectionPath, objectPath } from '../../../operator/src/runtime/rest/resource.ts';
import { adminKubeConfig, useNamespace } from '../../support/kube.ts';
import { testClient, testLogger, testMetrics } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();

/** A manager in this process with one controller on ConfigMaps labelled suite=<suite>. */
function managerWith(
  namespace: string,
  suite: string,
  env: Record<string, string>,
  reconcile: (key: string, signal: AbortSignal) => Promise<void>,
): Manager {
  const config = parseConfig([], {
    AO_WATCH_NAMESPACES: namespace,
    AO_LEADER_ELECTION_NAMESPACE: namespace,
    AO_HEALTH_PROBE_BIND_ADDRESS: '0',
    AO_METRICS_BIND_ADDRESS: '0',
    ...env,
  });
  const logger = testLogger();
  const manager = new Manager({ config, kubeConfig: adminKubeConfig(), logger, metrics: testMetrics() });
  const informer = manager.informer<KubeObject>(ConfigMaps, { labelSelector: `suite=${suite}` });
  const controller = new Controller({
    name: suite,
    logger,
    reconciler: {
      reconcile: async (key, ctx) => {
        await reconcile(key, ctx.signal);
        return undefined;
      },
    },
  });
  controller.watch(informer);
  manager.add(controller);
  return manager;
}

describe('Manager shutdown and leadership', () => {
  const ns = useNamespace('shutdown-');

  const create = (suite: string, name: string): Promise<KubeObject> =>
    client.request('POST', collectionPath(ConfigMaps, ns.name), {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { suite } } },
    });

  it('lets a reconcile in flight finish on shutdown, then exits 0', async () => {
    const log: string[] = [];
    let release = (): void => undefined;
    const manager = managerWith(ns.name, 'graceful', { AO_LEADER_ELECT: 'false' }, async (key, signal) => {
      log.push(`start ${key}`);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      log.push(signal.aborted ? 'aborted' : 'finished');
    });
    const stop = new AbortController();
    const exit = manager.run(stop.signal);
    await create('graceful', 'slow');
    await waitFor('the reconcile to start', () => (log.length === 1 ? true : undefined));
    stop.abort();
    expect(manager.ready().waiting).toContain('shutting down');
    release();
    expect(await exit).toBe(0);
    expect(log).toEqual([`start ${ns.name}/slow`, 'finished']);
  });

  it('aborts reconciles still running at the shutdown deadline and exits 1', async () => {
    let started = false;
    let sawAbort = false;
    const manager = managerWith(ns.name, 'stuck', { AO_LEADER_ELECT: 'false', AO_SHUTDOWN_TIMEOUT: '1' }, async (_key, signal) => {
      started = true;
      await new Promise<void>((resolve) => {
        signal.addEventListener(
          'abort',
          () => {
            resolve();
          },
          { once: true },
        );
      });
      sawAbort = true;
    });
    const stop = new AbortController();
    const exit = manager.run(stop.signal);
    await create('stuck', 'forever');
    await waitFor('the reconcile to start', () => (started ? true : undefined));
    stop.abort();
    expect(await exit).toBe(1);
    expect(sawAbort).toBe(true);
  });

  it('stops leader-only controllers at once when the lease is lost, and exits 1', async () => {
    let reconciling: AbortSignal | undefined;
    const manager = managerWith(
      ns.name,
      'leader',
      {
        AO_LEADER_ELECTION_ID: 'lost-lease',
        AO_IDENTITY: 'me',
        AO_LEADER_ELECT_LEASE_DURATION: '4',
        AO_LEADER_ELECT_RENEW_DEADLINE: '3',
        AO_LEADER_ELECT_RETRY_PERIOD: '1',
      },
      async (_key, signal) => {
        reconciling = signal;
        await new Promise<void>((resolve) => {
          signal.addEventListener(
            'abort',
            () => {
              resolve();
            },
            { once: true },
          );
        });
      },
    );
    const stop = new AbortController();
    const exit = manager.run(stop.signal);
    await create('leader', 'work');
    await waitFor('a reconcile under leadership', () => reconciling);
    // Another replica takes the Lease (as after a network partition): renewals now fail.
    const lease = await client.request<KubeObject & { spec: Record<string, unknown> }>('GET', objectPath(Leases, ns.name, 'lost-lease'));
    await client.request('PUT', objectPath(Leases, ns.name, 'lost-lease'), {
      body: { ...lease, spec: { ...lease.spec, holderIdentity: 'usurper', leaseDurationSeconds: 3600, renewTime: microTime(Date.now()) } },
    });
    expect(await exit).toBe(1);
    expect(reconciling?.aborted).toBe(true);
  });
});
