import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, POOL_LABEL, RESTART_ANNOTATION } from '../../../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { Events, Pods, collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { PodFleet, type Behaviour } from '../../support/pod-fleet.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';
import { updateWithRetry } from '../../support/update.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const Policies = resourceOfKind(policyKind);

type Condition = { type: string; status: string; reason: string; message: string };
type PoolStatus = { name: string; current: number; desired: number; sleeping?: number; reason?: string };
type PolicyObj = KubeObject & { spec?: Record<string, unknown>; status?: { pools?: PoolStatus[]; conditions?: Condition[] } };

const template = (capability: string): Record<string, unknown> => ({
  capabilities: [capability],
  runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
  heartbeat: { intervalSeconds: 1, timeoutSeconds: 5 },
});
const phase = (a: KubeObject): string | undefined => (a.status as { phase?: string } | undefined)?.phase;
const conditionOf = (o: KubeObject, type: string): Condition | undefined =>
  (o.status as { conditions?: Condition[] } | undefined)?.conditions?.find((c) => c.type === type);

/** An instant in UTC as the plugin writes it: HH:MM, and :SS only when not 00 (localTime in plugins/automation/schedule.ts). */
function utcClock(ms: number): string {
  const [hms = ''] = new Date(ms).toISOString().slice(11).split('.');
  return hms.endsWith(':00') ? hms.slice(0, 5) : hms;
}

/**
 * A cron expression with seconds that fires at exactly `ms` (UTC), and then only on that
 * day of the year: a one-off window edge a few seconds ahead, so the test takes seconds.
 */
function cronAt(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
}

// eslint-disable-next-line @typescript-eslint/explicit-function-return-type -- a bag of helpers; its type is what it returns
function useOperatedNamespace(prefix: string, spec: Record<string, unknown>, behaviour?: Behaviour) {
  const ns = useNamespace(prefix);
  const ctx = {} as { operator: RunningOperator; fleet: PodFleet };
  beforeAll(async () => {
    await client.request('POST', collectionPath(Policies, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'OrchestratorPolicy', metadata: { name: 'default' }, spec },
    });
    ctx.fleet = new PodFleet(client, ns.name, behaviour);
    ctx.operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000', AO_AGENT_DRAIN_GRACE: '10' });
  });
  afterAll(async () => {
    await ctx.fleet.stop();
    await ctx.operator.stop();
  });
  const policy = (): Promise<PolicyObj> => client.request('GET', objectPath(Policies, ns.name, 'default'));
  const setPlugins = async (plugins: Record<string, unknown>): Promise<void> => {
    await updateWithRetry<PolicyObj>(client, objectPath(Policies, ns.name, 'default'), (current) => ({
      ...current,
      spec: { ...(current.spec ?? {}), plugins },
    }));
  };
  const agents = async (selector?: string): Promise<KubeObject[]> =>
    (await client.request<ObjectList>('GET', collectionPath(Agents, ns.name), selector ? { query: { labelSelector: selector } } : {}))
      .items;
  const events = async (reason: string): Promise<{ note: string; regarding: string }[]> =>
    (
      await client.request<ObjectList<KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }>>(
        'GET',
        collectionPath(Events, ns.name),
      )
    ).items
      .filter((e) => e.reason === reason)
      .map((e) => ({ note: e.note ?? '', regarding: e.regarding?.name ?? '' }));
  return { ns, ctx, policy, setPlugins, agents, events };
}

describe('automation schedules', () => {
  beforeAll(installCrds);
  const s = useOperatedNamespace('automation-schedule-', {
    autoscaling: { pools: [{ name: 'quiet', template: template('quiet'), minAgents: 2, maxAgents: 2 }] },
  });
  const pool = async (): Promise<PoolStatus | undefined> => (await s.policy()).status?.pools?.find((p) => p.name === 'quiet');
  const members = (): Promise<KubeObject[]> => s.agents(`${POOL_LABEL}=quiet`);
  const allIn = async (wanted: string): Promise<KubeObject[] | undefined> => {
    const list = await members();
    return list.length === 2 && list.every((a) => phase(a) === wanted) ? list : undefined;
  };

  it('puts the pool to sleep when a window opens and wakes the same agents when it closes', async () => {
    const ready = await waitFor('two Ready agents', () => allIn('Ready'), { timeoutMs: 60_000 });
    const names = ready.map((a) => a.metadata.name).sort();

    // A window from a few seconds ahead for twelve seconds, in UTC, with seconds in the cron.
    const start = Math.ceil((Date.now() + 4_000) / 1000) * 1000;
    const end = start + 12_000;
    await s.setPlugins({
      automation: { schedules: [{ name: 'maintenance', pool: 'quiet', start: cronAt(start), end: cronAt(end), maxAwake: 0 }] },
    });

    // Before it opens the condition says when it will, and the pool is untouched.
    const closed = await waitFor('the Schedules condition', async () => {
      const c = conditionOf(await s.policy(), 'Schedules');
      return c?.status === 'False' ? c : undefined;
    });
    expect(closed).toMatchObject({ reason: 'NoWindowOpen' });
    expect(closed.message).toBe(`maintenance closed: opens at ${utcClock(start)} UTC`);
    if (Date.now() < start - 500) expect(await allIn('Ready')).toBeDefined();

    const asleep = await waitFor('both agents asleep', () => allIn('Sleeping'), { timeoutMs: 30_000 });
    expect(Date.now()).toBeGreaterThanOrEqual(start);
    expect(asleep.map((a) => a.metadata.name).sort()).toEqual(names);
    const held = await waitFor('the pool reported asleep', async () => {
      const p = await pool();
      return p?.current === 0 && p.sleeping === 2 ? p : undefined;
    });
    // The window's end may fall on a whole minute (then without seconds): one run in 60 did.
    expect(held.reason).toMatch(
      new RegExp(
        `^(scaling down 2 → 0|holding 0): schedule maintenance: at most 0 awake until ${utcClock(end)} UTC \\(plugin automation\\); `,
      ),
    );
    expect(conditionOf(await s.policy(), 'Schedules')).toMatchObject({ status: 'True', reason: 'WindowOpen' });
    const opened = await waitFor('a ScheduleOpened event', async () => {
      const e = await s.events('ScheduleOpened');
      return e.length > 0 ? e : undefined;
    });
    expect(opened).toHaveLength(1);
    expect(opened[0]?.note).toBe(
      `schedule maintenance opened: pool quiet keeps at most 0 awake until ${utcClock(end)} UTC (plugin automation)`,
    );
    expect((await s.events('ScaledDown')).some((e) => e.note.includes('schedule maintenance'))).toBe(true);

    const awake = await waitFor('both agents awake again', () => allIn('Ready'), { timeoutMs: 60_000 });
    expect(Date.now()).toBeGreaterThanOrEqual(end);
    // Woken, not replaced: the same Agents.
    expect(awake.map((a) => a.metadata.name).sort()).toEqual(names);
    await waitFor('the pool reported awake', async () => {
      const p = await pool();
      return p?.current === 2 && !p.reason?.includes('schedule') ? p : undefined;
    });
    await waitFor('a ScheduleClosed event', async () => ((await s.events('ScheduleClosed')).length === 1 ? true : undefined));
    expect(conditionOf(await s.policy(), 'Schedules')).toMatchObject({ status: 'False', reason: 'NoWindowOpen' });
    expect(await s.events('ScheduleOpened')).toHaveLength(1);
  });

  it('rejects a bad schedule when the policy is applied, naming the field', async () => {
    await s.setPlugins({
      automation: {
        schedules: [{ name: 'broken', pool: 'quiet', start: '61 8 * * *', end: '0 20 * * *', timeZone: 'Europe/Berlin', maxAwake: 0 }],
      },
    });
    const bad = await waitFor('Ready=False', async () => {
      const c = conditionOf(await s.policy(), 'Ready');
      return c?.status === 'False' ? c : undefined;
    });
    expect(bad.reason).toBe('InvalidPluginConfig');
    expect(bad.message).toMatch(
      /^spec\.plugins\.automation\.schedules\[0\]\.start: not a cron expression: Invalid value for minute: 61 .*; the last valid configuration stays in force$/,
    );
    await waitFor('an InvalidPluginConfig event', async () => ((await s.events('InvalidPluginConfig')).length > 0 ? true : undefined));

    await s.setPlugins({
      automation: {
        schedules: [{ name: 'broken', pool: 'quiet', start: '0 8 * * *', end: '0 20 * * *', timeZone: 'Europe/Atlantis', maxAwake: 0 }],
      },
    });
    await waitFor('the time zone named', async () => {
      const c = conditionOf(await s.policy(), 'Ready');
      return c?.message.startsWith('spec.plugins.automation.schedules[0].timeZone: unknown time zone "Europe/Atlantis"') ? c : undefined;
    });
    // The pool never noticed: it is still awake.
    expect(await allIn('Ready')).toBeDefined();
  });
});

describe('automation recovery', () => {
  beforeAll(installCrds);
  // Tasks named fail-* fail on the agent, the others succeed.
  const behaviour: Behaviour = async (task) =>
    task.name.startsWith('fail-')
      ? { outcome: 'Failed', output: '', reason: 'exit code 1', exitCode: 1 }
      : { outcome: 'Succeeded', output: 'ok', reason: 'exit code 0', exitCode: 0 };
  const s = useOperatedNamespace(
    'automation-recovery-',
    {
      circuitBreaker: { failureThreshold: 100, cooldownSeconds: 600 },
      plugins: { automation: { recovery: { restartAfterFailures: 2, backoffSeconds: 1, maxRestarts: 1 } } },
    },
    behaviour,
  );
  const agent = (): Promise<KubeObject> => client.request('GET', objectPath(Agents, s.ns.name, 'flaky'));
  const podUid = async (): Promise<string | undefined> => {
    try {
      return (await client.request<KubeObject>('GET', objectPath(Pods, s.ns.name, 'agent-flaky'))).metadata.uid;
    } catch {
      return undefined;
    }
  };
  let seq = 0;
  const runTask = async (prefix: 'fail' | 'ok'): Promise<void> => {
    const name = `${prefix}-${++seq}`;
    await client.request('POST', collectionPath(Tasks, s.ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: ['flaky'], retries: { max: 0 } } },
    });
    await waitFor(
      `${name} to end`,
      async () => {
        const t = await client.request<KubeObject>('GET', objectPath(Tasks, s.ns.name, name));
        const p = (t.status as { phase?: string } | undefined)?.phase;
        return p === 'Succeeded' || p === 'Failed' ? p : undefined;
      },
      { timeoutMs: 60_000 },
    );
  };
  const readyAgent = (): Promise<KubeObject> =>
    waitFor(
      'the agent Ready',
      async () => {
        const a = await agent();
        return phase(a) === 'Ready' ? a : undefined;
      },
      { timeoutMs: 60_000 },
    );

  it('restarts an agent that keeps failing, once per new failure after the backoff, up to maxRestarts, and says when it works again', async () => {
    await client.request('POST', collectionPath(Agents, s.ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Agent', metadata: { name: 'flaky' }, spec: template('flaky') },
    });
    await readyAgent();
    const firstPod = await podUid();
    expect(firstPod).toBeDefined();

    await runTask('fail');
    await runTask('fail');
    // Two consecutive failures: the plugin asks for a restart, the agent controller replaces the Pod.
    // The annotation and the condition are two writes: wait for both.
    const restarted = await waitFor('the restart annotation and the Recovering condition', async () => {
      const a = await agent();
      return a.metadata.annotations?.[RESTART_ANNOTATION] && conditionOf(a, 'Recovering') ? a : undefined;
    });
    expect(conditionOf(restarted, 'Recovering')).toMatchObject({ status: 'True', reason: 'Restarted' });
    expect(conditionOf(restarted, 'Recovering')?.message).toMatch(
      /^restarted 1 time since its last success, the last after 2 consecutive failures, at \S+ \(recovery\.maxRestarts 1\)/,
    );
    await waitFor(
      'a new Pod',
      async () => {
        const uid = await podUid();
        return uid !== undefined && uid !== firstPod ? uid : undefined;
      },
      { timeoutMs: 30_000 },
    );
    await readyAgent();
    await waitFor('the Restarting event of the agent controller', async () =>
      (await s.events('Restarting')).some((e) => e.regarding === 'flaky') ? true : undefined,
    );
    await waitFor('the RecoveryRestart event of the plugin', async () =>
      (await s.events('RecoveryRestart')).length === 1 ? true : undefined,
    );

    // It fails again: restarts are used up, so it says so and leaves the agent be.
    const secondPod = await podUid();
    await runTask('fail');
    const limited = await waitFor(
      'RestartLimitReached',
      async () => {
        const a = await agent();
        return conditionOf(a, 'Recovering')?.reason === 'RestartLimitReached' ? a : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(conditionOf(limited, 'Recovering')?.message).toMatch(
      /^restarted 1 time since its last success, the last after 2 consecutive failures; as many as recovery\.maxRestarts allows/,
    );
    await waitFor('a RestartLimitReached warning', async () => ((await s.events('RestartLimitReached')).length === 1 ? true : undefined));
    expect(await podUid()).toBe(secondPod);

    // A success ends the episode.
    await runTask('ok');
    const recovered = await waitFor('Recovered', async () => {
      const a = await agent();
      return conditionOf(a, 'Recovering')?.status === 'False' ? a : undefined;
    });
    expect(conditionOf(recovered, 'Recovering')?.reason).toBe('Recovered');
    await waitFor('a Recovered event', async () => ((await s.events('Recovered')).length === 1 ? true : undefined));
  });
});
