import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { API_VERSION } from '../../api/common.ts';
import type { Hook, LifecyclePlugin } from '../../framework/lifecycle.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import { systemClock } from '../../runtime/clock.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { builtinRegistry } from '../../builtin-registry.ts';
import { pluginsOf } from './host.ts';
import { LifecycleHost, type LifecycleHostDeps, type PluginHook } from './lifecycle-host.ts';

const NS = 'ns';
const BUDGET_MS = 200;

/** The few informer calls the host makes, over a fixed set of objects. */
function informerOf(objects: KubeObject[]): SharedInformer<KubeObject> {
  const byKey = new Map(objects.map((o) => [`${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));
  return {
    hasSynced: () => true,
    waitForSync: () => Promise.resolve(true),
    addHandler: () => undefined,
    run: () => Promise.resolve(),
    get: (key) => byKey.get(key),
    list: () => [...byKey.values()],
    byIndex: () => [...byKey.values()],
    addIndexers: () => undefined,
    setTransform: () => undefined,
  };
}

const task: KubeObject = {
  apiVersion: API_VERSION,
  kind: 'Task',
  metadata: { name: 't', namespace: NS, uid: 'u1', creationTimestamp: new Date().toISOString() },
  spec: { requiredCapabilities: [], priority: 100 },
};

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // A machine that stalls mid-call: the call overruns its budget without being wrong.
  }
}

/** A host running one lifecycle plugin in namespace ns, and the webhooks it handed over, per tick. */
function hostWith(plugin: LifecyclePlugin): { host: LifecycleHost; ticks: PluginHook[][] } {
  const ticks: PluginHook[][] = [];
  const deps = {
    agents: informerOf([]),
    tasks: informerOf([task]),
    policies: informerOf([]),
    namespacePolicies: { for: () => ({ plugins: new Map([['watcher', { lifecycle: plugin }]]) }) },
    plugins: pluginsOf(builtinRegistry(), new Registry(), BUDGET_MS),
    metrics: new Registry(),
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    deliver: (_ns: string, hooks: readonly PluginHook[]) => ticks.push([...hooks]),
  } as unknown as LifecycleHostDeps;
  return { host: new LifecycleHost(deps), ticks };
}

const hookOf = (to: string): Hook => ({ endpoint: 'e', url: 'http://127.0.0.1:1/', event: { id: to } }) as unknown as Hook;

async function tick(host: LifecycleHost): Promise<number | undefined> {
  const result = await host.reconcile(NS, { signal: new AbortController().signal } as never);
  return result?.requeueAfter;
}

function recordPhases(host: LifecycleHost, ...phases: string[]): void {
  let from: string | undefined;
  for (const to of phases) {
    host.record(NS, { kind: 'task-phase', key: `${NS}/t`, from, to, at: Date.now(), object: task });
    from = to;
  }
}

describe('lifecycle host: phase events', () => {
  it('gives an event whose call ran past its budget another tick, and keeps the later ones behind it, in order', async () => {
    let stalls = 1;
    const { host, ticks } = hostWith({
      onPhase: (_t, _from, to) => {
        if (stalls-- > 0) spin(BUDGET_MS * 2);
        return [hookOf(to)];
      },
    });
    recordPhases(host, 'Pending', 'Assigned');
    expect(await tick(host)).toBe(1000);
    expect(ticks).toEqual([]);
    recordPhases(host, 'Running');
    await tick(host);
    expect(ticks.map((hooks) => hooks.map((h) => h.event.id))).toEqual([['Pending', 'Assigned', 'Running']]);
  });

  it('drops an event whose call keeps failing after three tries, then goes on with the next', async () => {
    const calls: string[] = [];
    const { host, ticks } = hostWith({
      onPhase: (_t, _from, to) => {
        calls.push(to);
        if (to === 'Pending') throw new Error('broken');
        return [hookOf(to)];
      },
    });
    recordPhases(host, 'Pending', 'Assigned');
    await tick(host);
    await tick(host);
    expect(ticks).toEqual([]);
    expect(await tick(host)).not.toBe(1000);
    expect(calls).toEqual(['Pending', 'Pending', 'Pending', 'Assigned']);
    expect(ticks.map((hooks) => hooks.map((h) => h.event.id))).toEqual([['Assigned']]);
    await tick(host);
    expect(calls).toHaveLength(4);
  });
});
