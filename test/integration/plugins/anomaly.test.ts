import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet, type Behaviour } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);

type Condition = { type: string; status: string; reason: string; message: string; lastTransitionTime: string };
type Recent = { task: string; durationMs: number; outcome: string; capabilities: string };
type AgentObj = KubeObject & { status?: { conditions?: Condition[]; stats?: { recent?: Recent[] } } };
type TaskObj = KubeObject & { status?: { phase?: string; assignment?: { agent: string }; conditions?: Condition[] } };

/** A runner whose work takes `normalMs`, or `slowMs` while `slow` says so. */
function timed(normalMs: number, slowMs: number, slow: () => boolean): Behaviour {
  return (task, _agent, signal) =>
    new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          resolve({ outcome: 'Succeeded', output: task.name, reason: 'exit code 0', exitCode: 0 });
        },
        slow() ? slowMs : normalMs,
      );
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve({ outcome: 'Cancelled', output: '', reason: 'stopped' });
      });
    });
}

describe('anomaly plugin on the real plane', () => {
  beforeAll(installCrds);
  const ns = useNamespace('anomaly-');
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  let slow = false;
  beforeAll(async () => {
    fleet = new Fleet(client, ns.name);
    // A slow run is 10x: minSlowdown 3 keeps a loaded machine's timer delays on 200 ms
    // runs from counting (the probe must be judged normal).
    await fleet.policy({ plugins: { anomaly: { minSamples: 4, consecutiveTasks: 3, cooldownSeconds: 15, minSlowdown: 3 } } });
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
  });

  const agent = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));
  const degraded = async (name: string): Promise<Condition | undefined> =>
    (await agent(name)).status?.conditions?.find((c) => c.type === 'Degraded');
  const task = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const succeeded = (name: string) => async (): Promise<TaskObj | undefined> => {
    const t = await task(name);
    return t.status?.phase === 'Succeeded' ? t : undefined;
  };
  const pinned = (agentName: string): Record<string, unknown> => ({ requiredCapabilities: ['review'], affinity: { agent: agentName } });
  const eventsFor = async (name: string, reason: string): Promise<number> => {
    const list = await client.request<ObjectList<KubeObject & { reason?: string; count?: number; involvedObject?: { name?: string } }>>(
      'GET',
      `/api/v1/namespaces/${ns.name}/events`,
    );
    return list.items.filter((e) => e.involvedObject?.name === name && e.reason === reason).reduce((n, e) => n + (e.count ?? 1), 0);
  };

  it('learns an agent’s durations, quarantines it when it turns slow, routes around it, keeps the quarantine across a restart, and releases it after a normal probe', async () => {
    await fleet.agent('drifts', { capabilities: ['review'], behaviour: timed(200, 2000, () => slow) });
    await fleet.agent('steady', { capabilities: ['review'], behaviour: timed(200, 2000, () => false) });

    // Its normal: the runner records each attempt's duration on the Agent.
    for (let i = 0; i < 5; i++) await fleet.task(`normal-${i}`, pinned('drifts'));
    for (let i = 0; i < 5; i++) await waitFor(`normal-${i} done`, succeeded(`normal-${i}`), { timeoutMs: 60_000 });
    const learned = await waitFor('five attempts recorded', async () => {
      const recent = (await agent('drifts')).status?.stats?.recent ?? [];
      return recent.length === 5 ? recent : undefined;
    });
    expect(learned.map((r) => [r.task, r.outcome, r.capabilities])).toEqual(
      [0, 1, 2, 3, 4].map((i) => [`normal-${i}`, 'Succeeded', 'review']),
    );
    // The runner's own measure of a 200 ms run (a timer may fire a millisecond early by the wall clock).
    expect(learned.map((r) => r.durationMs).filter((ms) => ms < 190)).toEqual([]);
    expect((await degraded('drifts'))?.status).not.toBe('True');

    // It turns 10x slower: three slow attempts in a row quarantine it.
    slow = true;
    for (let i = 0; i < 3; i++) await fleet.task(`slow-${i}`, pinned('drifts'));
    const quarantined = await waitFor(
      'drifts quarantined',
      async () => {
        const c = await degraded('drifts');
        return c?.status === 'True' && c.reason === 'Anomalous' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(quarantined.message).toMatch(
      /^3 anomalous review tasks in a row: median \d+\.\d\ds against a typical \d\.\d\ds \(\d+\.\dx\), up to [\d.]+ deviations: quarantined until /,
    );
    expect(await waitFor('an Anomalous Event', async () => ((await eventsFor('drifts', 'Anomalous')) === 1 ? true : undefined))).toBe(true);

    // Routed around: a task pinned to it waits and says why; a free one goes to the other agent.
    slow = false;
    await fleet.task('probe', pinned('drifts'));
    const waiting = await waitFor('the pinned task to say why it waits', async () => {
      const c = (await task('probe')).status?.conditions?.find((x) => x.type === 'Scheduled');
      return c?.status === 'False' ? c : undefined;
    });
    expect(waiting.message).toMatch(/quarantined as anomalous \(anomaly\)/);
    await fleet.task('free', { requiredCapabilities: ['review'] });
    expect((await waitFor('free done', succeeded('free'), { timeoutMs: 60_000 })).status?.assignment?.agent).toBe('steady');

    // Nothing of it lives in the operator: a new one keeps the same quarantine, with no second Event.
    await operator?.stop();
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });
    expect(await degraded('drifts')).toMatchObject({ reason: 'Anomalous', lastTransitionTime: quarantined.lastTransitionTime });

    // After the cooldown the pinned task goes through as the probe; it is normal and the agent is released.
    await waitFor('probe done', succeeded('probe'), { timeoutMs: 60_000 });
    const released = await waitFor(
      'drifts released',
      async () => {
        const c = await degraded('drifts');
        return c?.status === 'False' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(released.reason).toBe('AnomalyReleased');
    expect(released.message).toMatch(/the probe task probe was normal$/);
    expect(await eventsFor('drifts', 'Anomalous')).toBe(1);
    expect(await eventsFor('drifts', 'AnomalyReleased')).toBe(1);
    expect(await degraded('steady')).toBeUndefined();
  });
});
