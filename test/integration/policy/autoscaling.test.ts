import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_LABEL, API_VERSION, POOL_LABEL, TEMPLATE_HASH_ANNOTATION } from '../../../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { Events, Pods, collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { PodFleet, type Behaviour } from '../../support/pod-fleet.ts';
import { testClient } from '../../support/runtime.ts';
import { updateWithRetry } from '../../support/update.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);
const Policies = resourceOfKind(policyKind);

type Condition = { type: string; status: string; reason: string; message: string };
type PoolStatus = { name: string; current: number; desired: number; sleeping?: number; reason?: string; lastScaleTime?: string };
type PolicyObj = KubeObject & {
  status?: { pools?: PoolStatus[]; summary?: string; conditions?: Condition[]; inForce?: Record<string, unknown> };
};
type TaskObj = KubeObject & { status?: { phase?: string; history?: { agent: string; outcome: string }[] } };

const template = (capability: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  capabilities: [capability],
  runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
  heartbeat: { intervalSeconds: 1, timeoutSeconds: 5 },
  ...extra,
});

/** A namespace with one policy, the operator and runners for every agent Pod in it. */
// eslint-disable-next-line @typescript-eslint/explicit-function-return-type -- a bag of helpers; its type is what it returns
function useScaledNamespace(prefix: string, spec: () => Record<string, unknown>, behaviour?: Behaviour) {
  const ns = useNamespace(prefix);
  const ctx = {} as { operator: RunningOperator; fleet: PodFleet };
  beforeAll(async () => {
    await client.request('POST', collectionPath(Policies, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'OrchestratorPolicy', metadata: { name: 'default' }, spec: spec() },
    });
    ctx.fleet = new PodFleet(client, ns.name, behaviour);
    ctx.operator = await start();
  });
  const start = (): Promise<RunningOperator> =>
    startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000', AO_AGENT_DRAIN_GRACE: '60' });
  /** A new operator process, as after a crash or an upgrade: nothing kept in memory. */
  const restartOperator = async (): Promise<void> => {
    await ctx.operator.stop();
    ctx.operator = await start();
  };
  afterAll(async () => {
    await ctx.fleet.stop();
    await ctx.operator.stop();
  });
  const policy = (name = 'default'): Promise<PolicyObj> => client.request('GET', objectPath(Policies, ns.name, name));
  const pool = async (name: string): Promise<PoolStatus | undefined> => (await policy()).status?.pools?.find((p) => p.name === name);
  const agents = async (poolName: string): Promise<KubeObject[]> =>
    (await client.request<ObjectList>('GET', collectionPath(Agents, ns.name), { query: { labelSelector: `${POOL_LABEL}=${poolName}` } }))
      .items;
  const tasks = async (): Promise<TaskObj[]> => (await client.request<ObjectList<TaskObj>>('GET', collectionPath(Tasks, ns.name))).items;
  const createTask = (name: string, capability: string): Promise<KubeObject> =>
    client.request('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: [capability] } },
    });
  const events = async (reason: string): Promise<string[]> =>
    (await client.request<ObjectList<KubeObject & { reason?: string; note?: string }>>('GET', collectionPath(Events, ns.name))).items
      .filter((e) => e.reason === reason)
      .map((e) => e.note ?? '');
  return { ns, ctx, policy, pool, agents, tasks, createTask, events, restartOperator };
}

const phase = (a: KubeObject): string | undefined => (a.status as { phase?: string } | undefined)?.phase;

describe('autoscaling a pool from zero through a burst and back', () => {
  beforeAll(installCrds);
  const s = useScaledNamespace(
    'burst-',
    () => ({
      autoscaling: {
        pools: [
          {
            name: 'burst',
            template: template('burst'),
            minAgents: 0,
            maxAgents: 20,
            scaleToZero: true,
            scaleUp: { maxStep: 20 },
            scaleDown: { stabilizationSeconds: 5 },
          },
        ],
      },
    }),
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return { outcome: 'Succeeded', output: 'ok', reason: 'exit code 0', exitCode: 0 };
    },
  );

  it('stays at zero with nothing to do', async () => {
    const idle = await waitFor('the pool reported', () => s.pool('burst'));
    expect(idle).toMatchObject({ current: 0, desired: 0 });
    expect(await s.agents('burst')).toHaveLength(0);
    expect((await s.policy()).status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Applied' });
  });

  it('scales 200 tasks up to maxAgents, says the cap holds work back, runs each once, then drains to zero', async () => {
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.createTask(`job-${String(i).padStart(3, '0')}`, 'burst')));
    const atMax = await waitFor(
      'the pool at its cap',
      async () => {
        const p = await s.pool('burst');
        return p?.current === 20 && /^at maxAgents 20:/.test(p.reason ?? '') ? p : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(atMax.reason).toMatch(/^at maxAgents 20: \d+ pending and \d+ running tasks want \d+ agents/);
    expect(await waitFor('a PoolAtMax event', async () => ((await s.events('PoolAtMax')).length > 0 ? true : undefined))).toBe(true);

    const done = await waitFor(
      'all 200 tasks Succeeded',
      async () => {
        const all = await s.tasks();
        return all.length === 200 && all.every((t) => t.status?.phase === 'Succeeded') ? all : undefined;
      },
      { timeoutMs: 120_000 },
    );
    // Exactly once: one attempt in history, one execution by a runner.
    for (const t of done) expect(t.status?.history?.map((h) => h.outcome)).toEqual(['Succeeded']);
    expect([...s.ctx.fleet.executions.values()].every((runs) => runs.length === 1)).toBe(true);
    expect(s.ctx.fleet.executions.size).toBe(200);
    expect(new Set(s.ctx.fleet.started).size).toBeGreaterThan(4);
    expect(new Set(s.ctx.fleet.started).size).toBeLessThanOrEqual(20);

    await waitFor('back to zero agents', async () => ((await s.agents('burst')).length === 0 ? true : undefined), { timeoutMs: 90_000 });
    await waitFor('the pool reported at zero', async () => {
      const p = await s.pool('burst');
      return p?.current === 0 && p.desired === 0 ? true : undefined;
    });
    await waitFor('ScaledDown events', async () => ((await s.events('ScaledDown')).length > 0 ? true : undefined));
    const fromZero = await s.ctx.operator.manager.metrics.registry
      .getSingleMetric('agent_orchestrator_pool_scale_from_zero_seconds')
      ?.get();
    const values = (fromZero?.values ?? []) as { metricName?: string; value: number }[];
    expect(values.find((v) => v.metricName?.endsWith('_count'))?.value).toBeGreaterThanOrEqual(1);
    // The sum of its deadlines: 200 tasks under coverage on a busy 2-core machine ran past 120 s.
  }, 300_000);

  it('wakes from zero as soon as one task is pending', async () => {
    await s.createTask('late', 'burst');
    await waitFor(
      'the late task done',
      async () => {
        const t = (await s.tasks()).find((x) => x.metadata.name === 'late');
        return t?.status?.phase === 'Succeeded' ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
  });
});

describe('a pool that keeps its agents warm', () => {
  beforeAll(installCrds);
  const s = useScaledNamespace('warm-', () => ({
    autoscaling: {
      pools: [
        {
          name: 'warm',
          template: template('warm'),
          minAgents: 0,
          maxAgents: 3,
          scaleToZero: true,
          sleepAfterIdleSeconds: 1,
          scaleDown: { stabilizationSeconds: 0 },
        },
      ],
    },
  }));

  it('puts idle agents to sleep instead of deleting them, and wakes the same agent for new work', async () => {
    await s.createTask('first', 'warm');
    const [agent] = await waitFor('an agent made', async () => {
      const list = await s.agents('warm');
      return list.length === 1 ? list : undefined;
    });
    const name = agent?.metadata.name ?? '';
    await waitFor(
      'asleep',
      async () => {
        const list = await s.agents('warm');
        return list.length === 1 && phase(list[0] as KubeObject) === 'Sleeping' ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    await waitFor('the pool reported asleep', async () => {
      const p = await s.pool('warm');
      return p?.current === 0 && p.sleeping === 1 ? true : undefined;
    });

    await s.createTask('second', 'warm');
    const done = await waitFor(
      'the second task done',
      async () => {
        const t = (await s.tasks()).find((x) => x.metadata.name === 'second');
        return t?.status?.phase === 'Succeeded' ? t : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(done.status?.history?.map((h) => h.agent)).toEqual([name]);
    expect((await s.agents('warm')).map((a) => a.metadata.name)).toEqual([name]);
  });
});

describe('policy configuration', () => {
  beforeAll(installCrds);
  const release = new Set<() => void>();
  const hold: Behaviour = (_task, _agent, signal) =>
    new Promise((resolve) => {
      const done = (): void => {
        resolve({ outcome: 'Succeeded', output: 'ok', reason: 'exit code 0', exitCode: 0 });
      };
      release.add(done);
      signal.addEventListener('abort', () => {
        resolve({ outcome: 'Cancelled', output: '', reason: 'stopped' });
      });
    });
  afterAll(() => {
    for (const r of release) r();
  });
  const s = useScaledNamespace(
    'config-',
    () => ({
      routing: { strategy: 'BinPack' },
      autoscaling: {
        pools: [
          { name: 'pack', template: template('pack', { maxConcurrentTasks: 6 }), minAgents: 2, maxAgents: 2, scaleUp: { maxStep: 1 } },
        ],
      },
    }),
    hold,
  );
  const assignedTo = async (name: string): Promise<string> =>
    waitFor(`${name} running`, async () => {
      const t = (await s.tasks()).find((x) => x.metadata.name === name) as
        (TaskObj & { status?: { phase?: string; assignment?: { agent: string } } }) | undefined;
      return t?.status?.phase === 'Running' ? t.status.assignment?.agent : undefined;
    });
  const setSpec = async (spec: Record<string, unknown>): Promise<void> => {
    await updateWithRetry<KubeObject>(client, objectPath(Policies, s.ns.name, 'default'), (current) => ({
      ...current,
      spec: { ...(current.spec ?? {}), ...spec },
    }));
  };
  const ready = async (): Promise<Condition | undefined> => (await s.policy()).status?.conditions?.find((c) => c.type === 'Ready');

  it('reports a bad plugin config and keeps routing with the last good one', async () => {
    await waitFor(
      'two Ready agents',
      async () => {
        const list = await s.agents('pack');
        return list.length === 2 && list.every((a) => phase(a) === 'Ready') ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    // BinPack fills one agent before the other.
    await s.createTask('a1', 'pack');
    const packed = await assignedTo('a1');
    await s.createTask('a2', 'pack');
    expect(await assignedTo('a2')).toBe(packed);

    await setSpec({ routing: { strategy: 'LeastLoaded' }, plugins: { 'least-busy': { level: 3 } } });
    const bad = await waitFor('Ready=False', async () => {
      const c = await ready();
      return c?.status === 'False' ? c : undefined;
    });
    expect(bad.reason).toBe('InvalidPluginConfig');
    expect(bad.message).toMatch(
      /^spec\.plugins\.least-busy: unknown plugin "least-busy"; known: .*; the last valid configuration stays in force$/,
    );
    await waitFor('an InvalidPluginConfig event', async () => ((await s.events('InvalidPluginConfig')).length > 0 ? true : undefined));
    // Still BinPack: LeastLoaded would pick the empty agent.
    await s.createTask('a3', 'pack');
    expect(await assignedTo('a3')).toBe(packed);
    // And after a restart, which forgets everything in memory: status.inForce keeps it.
    expect((await s.policy()).status?.inForce).toMatchObject({ routing: { strategy: 'BinPack' } });
    await s.restartOperator();
    await s.createTask('a3-after-restart', 'pack');
    expect(await assignedTo('a3-after-restart')).toBe(packed);

    await setSpec({ routing: { strategy: 'LeastLoaded' }, plugins: {} });
    await waitFor('Ready=True again', async () => ((await ready())?.status === 'True' ? true : undefined));
    await s.createTask('a4', 'pack');
    expect(await assignedTo('a4')).not.toBe(packed);
    for (const r of release) r();
    release.clear();
  });

  it('rolls a changed template onto the agents without failing running tasks', async () => {
    const before = await s.agents('pack');
    const oldHash = before[0]?.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION];
    await s.createTask('r1', 'pack');
    await s.createTask('r2', 'pack');
    await assignedTo('r1');
    await assignedTo('r2');
    await updateWithRetry<KubeObject>(client, objectPath(Policies, s.ns.name, 'default'), (current) => {
      const spec = current.spec as { autoscaling: { pools: Record<string, unknown>[] } };
      const changed = {
        ...spec.autoscaling.pools[0],
        template: template('pack', {
          maxConcurrentTasks: 6,
          runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev', env: [{ name: 'MODEL', value: 'v2' }] },
        }),
      };
      return { ...current, spec: { ...spec, autoscaling: { pools: [changed] } } };
    });
    await waitFor('a RollingTemplate event', async () => ((await s.events('RollingTemplate')).length > 0 ? true : undefined));
    // The running tasks hold their agents in Draining; let them finish.
    for (const r of release) r();
    release.clear();
    const rolled = await waitFor(
      'every agent on the new template, its Pod restarted, and Ready',
      async () => {
        const list = await s.agents('pack');
        const pods = (await client.request<ObjectList>('GET', collectionPath(Pods, s.ns.name))).items;
        const podEnv = (agent: string): unknown =>
          (
            pods.find((p) => p.metadata.labels?.[AGENT_LABEL] === agent)?.spec as
              { containers: { env?: { name: string; value?: string }[] }[] } | undefined
          )?.containers[0]?.env?.find((e) => e.name === 'MODEL')?.value;
        const fresh = list.filter(
          (a) =>
            a.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] !== oldHash &&
            (a.status as { observedGeneration?: number }).observedGeneration === a.metadata.generation &&
            phase(a) === 'Ready' &&
            podEnv(a.metadata.name ?? '') === 'v2',
        );
        return list.length === 2 && fresh.length === 2 ? list : undefined;
      },
      {
        timeoutMs: 90_000,
        // This wait timed out once in CI (rare, not reproduced): say where each agent stuck.
        describe: async () => {
          const pods = (await client.request<ObjectList>('GET', collectionPath(Pods, s.ns.name))).items;
          const agents = (await s.agents('pack')).map((a) =>
            JSON.stringify({
              agent: a.metadata.name,
              hash: a.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION],
              generation: a.metadata.generation,
              status: a.status,
            }),
          );
          const podLines = pods.map((p) =>
            JSON.stringify({
              pod: p.metadata.name,
              agent: p.metadata.labels?.[AGENT_LABEL],
              phase: (p.status as { phase?: string } | undefined)?.phase,
              deleting: p.metadata.deletionTimestamp,
              env: (p.spec as { containers: { env?: unknown }[] } | undefined)?.containers[0]?.env,
            }),
          );
          const events = (
            await client.request<ObjectList<KubeObject & { reason?: string; note?: string }>>('GET', collectionPath(Events, s.ns.name))
          ).items.map((e) => `event ${e.reason ?? ''} ${e.metadata.name ?? ''}: ${e.note ?? ''}`);
          return [
            `old hash ${String(oldHash)}`,
            `runners started, in order: ${s.ctx.fleet.started.join(', ')}`,
            ...agents,
            ...podLines,
            ...events.slice(-30),
          ].join('\n');
        },
      },
    );
    // maxStep 1: one agent per step, so one event each.
    await waitFor('one RollingTemplate event per agent', async () => ((await s.events('RollingTemplate')).length === 2 ? true : undefined));
    for (const a of rolled) {
      expect((a.spec as { runtime: { env?: { name: string; value: string }[] } }).runtime.env).toEqual([{ name: 'MODEL', value: 'v2' }]);
    }
    expect(rolled.map((a) => a.metadata.name).sort()).toEqual(before.map((a) => a.metadata.name).sort());
    for (const name of ['r1', 'r2']) {
      const t = (await s.tasks()).find((x) => x.metadata.name === name);
      expect(t?.status?.phase).toBe('Succeeded');
      expect(t?.status?.history?.map((h) => h.outcome)).toEqual(['Succeeded']);
    }
  });

  it('flags a second policy in the namespace and leaves the first in force', async () => {
    await client.request('POST', collectionPath(Policies, s.ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'OrchestratorPolicy',
        metadata: { name: 'other' },
        spec: { routing: { strategy: 'RoundRobin' } },
      },
    });
    const flagged = await waitFor('the extra policy flagged', async () => {
      const c = (await s.policy('other')).status?.conditions?.find((x) => x.type === 'Ready');
      return c?.status === 'False' ? c : undefined;
    });
    expect(flagged.reason).toBe('Superseded');
    expect(flagged.message).toContain('policy default governs namespace');
    expect((await ready())?.status).toBe('True');
  });
});
