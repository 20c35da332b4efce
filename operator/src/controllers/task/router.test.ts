import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../../../test/support/fake-clock.ts';
import { heldClient, type HeldClient } from '../../../../test/support/held-client.ts';
import type { Profile } from '../../framework/cycle.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { EventHandler } from '../../runtime/cache/informer.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import { keyOf, type KubeObject } from '../../runtime/rest/object.ts';
import type { Plugins } from '../plugins/host.ts';
import type { TaskMetrics } from './metrics.ts';
import type { Policies } from './policies.ts';
import { Router } from './router.ts';

const NS = 'team';
const NO_PLUGINS: Profile = { preFilters: [], filters: [], postFilters: [], scorers: [], reservers: [], permits: [] };

/** An informer over a fixed set of objects: the router reads them and gets their add events. */
function cacheOf(objects: KubeObject[]): SharedInformer<KubeObject> & { handlers: EventHandler<KubeObject>[] } {
  const byKey = new Map(objects.map((o) => [keyOf(o), o]));
  const handlers: EventHandler<KubeObject>[] = [];
  return {
    handlers,
    hasSynced: () => true,
    waitForSync: () => Promise.resolve(true),
    addHandler: (h) => handlers.push(h),
    run: () => Promise.resolve(),
    get: (key) => byKey.get(key),
    list: () => [...byKey.values()],
    byIndex: () => [],
    addIndexers: () => undefined,
    setTransform: () => undefined,
  };
}

const task = (name: string, status?: Record<string, unknown>): KubeObject => ({
  apiVersion: 'agents.orchestrator.dev/v1alpha1',
  kind: 'Task',
  metadata: { name, namespace: NS, resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: {},
  ...(status ? { status } : {}),
});

/** Reported while the namespace still had an agent: the message is out of date now that it has none. */
const stale = (name: string): KubeObject =>
  task(name, {
    phase: 'Pending',
    conditions: [
      { type: 'Scheduled', status: 'False', reason: 'Unschedulable', message: '0/1 agents can run it: 1 busy', lastTransitionTime: 'x' },
    ],
  });

describe('Router: why a task waits', () => {
  let stop = new AbortController();
  let running: Promise<void> | undefined;
  let reporting: HeldClient | undefined;
  afterEach(async () => {
    stop.abort();
    reporting?.answerAll();
    await running;
  });

  function start(tasks: KubeObject[], clock: FakeClock): HeldClient {
    const cache = cacheOf(tasks);
    stop = new AbortController();
    reporting = heldClient();
    const observe = { observe: () => undefined };
    const router = new Router({
      client: heldClient().client,
      reportingClient: reporting.client,
      tasks: cache,
      agents: cacheOf([]),
      policies: { for: () => ({ profile: NO_PLUGINS }) } as unknown as Policies,
      plugins: { budgetMs: 100, health: { observe: () => undefined, failed: () => false } } as unknown as Plugins,
      events: { record: () => Promise.resolve() } as unknown as EventRecorder,
      metrics: { cycleSeconds: observe, assignmentSeconds: observe } as unknown as TaskMetrics,
      clock,
      logger: pino({ level: 'silent' }),
    });
    for (const t of tasks) for (const h of cache.handlers) h.onAdd?.(t, true);
    running = router.run(stop.signal);
    return reporting;
  }
  const written = (paths: string[]): string[] => paths.map((p) => p.split('/').at(-2) ?? '');

  it('reports tasks it never reported on before refreshing the reasons of others, wherever they stand in the queue', async () => {
    const clock = new FakeClock();
    // More waiting tasks with an outdated reason than one cycle may write, ahead of the new
    // ones in queue order: spent in that order, the writes never reached the new tasks.
    const old = Array.from({ length: 60 }, (_, i) => stale(`a-${String(i).padStart(2, '0')}`));
    const fresh = Array.from({ length: 5 }, (_, i) => task(`z-${i}`));
    const { paths } = start([...old, ...fresh], clock);
    await flushMicrotasks();

    expect(written(paths)).toEqual(expect.arrayContaining(['z-0', 'z-1', 'z-2', 'z-3', 'z-4']));
    expect(paths.length).toBeLessThanOrEqual(50);
  });

  it('keeps at most 50 reports outstanding, and writes the rest once they are answered', async () => {
    const clock = new FakeClock();
    const { paths, outstanding, answerAll } = start(
      Array.from({ length: 80 }, (_, i) => task(`t-${String(i).padStart(2, '0')}`)),
      clock,
    );
    await flushMicrotasks();
    expect(outstanding()).toBe(50);

    // Later cycles (the parked tasks looked at again) while the API server has not answered.
    await clock.advance(6_000);
    expect(outstanding()).toBe(50);

    answerAll();
    await clock.advance(6_000);
    expect(new Set(written(paths)).size).toBe(80);
  });
});
