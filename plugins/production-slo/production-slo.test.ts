import { describe, expect, it } from 'vitest';
import type { Intent, NamespaceSnapshot, PolicyObject, TaskObject } from '../../operator/src/framework/index.ts';
import { productionSlo } from './index.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A task that ended `agoMs` before NOW, succeeded or not. */
function ended(i: number, agoMs: number, ok: boolean): TaskObject {
  return {
    metadata: { name: `t${i}`, namespace: 'ns', uid: `u${i}`, creationTimestamp: iso(NOW - agoMs - 10_000) },
    spec: { requiredCapabilities: [] },
    status: { phase: ok ? 'Succeeded' : 'Failed', completedAt: iso(NOW - agoMs) },
  } as unknown as TaskObject;
}

const policy = (
  conditions?: { type: string; status: 'True' | 'False'; reason: string; message: string; lastTransitionTime: string }[],
): PolicyObject =>
  ({
    metadata: { name: 'default', namespace: 'ns', uid: 'p' },
    spec: {},
    ...(conditions ? { status: { conditions } } : {}),
  }) as unknown as PolicyObject;

const SLOS = { slos: [{ name: 'success', indicator: 'SuccessRatio', objectivePercent: 99 }] };

function tick(tasks: TaskObject[], p: PolicyObject = policy(), config: unknown = SLOS): Intent[] {
  const snapshot: NamespaceSnapshot = { now: NOW, namespace: 'ns', policy: p, agents: [], tasks };
  return [...(productionSlo.create(config).lifecycle?.onTick?.(snapshot) ?? [])];
}

const condition = (intents: Intent[]): Intent | undefined => intents.find((i) => i.kind === 'condition');
const metric = (intents: Intent[], name: string, window?: string): number | undefined => {
  const m = intents.find((i) => i.kind === 'metric' && i.name === name && (window === undefined || i.labels?.window === window));
  return m?.kind === 'metric' ? m.value : undefined;
};

describe('production-slo onTick', () => {
  it('does nothing, and reads no task, without SLOs', () => {
    const snapshot = {
      now: NOW,
      namespace: 'ns',
      policy: policy(),
      agents: [],
      get tasks(): never {
        throw new Error('tasks read');
      },
    } as unknown as NamespaceSnapshot;
    expect(productionSlo.create({}).lifecycle?.onTick?.(snapshot)).toEqual([]);
  });

  it('within budget: SLOHealthy-<name> True with the budget left, gauges per window', () => {
    // 400 tasks over the last 6 hours, 1 failed 3 hours ago: 0.25% errors of a 1% budget.
    const tasks = Array.from({ length: 400 }, (_, i) => ended(i, (i + 1) * 53_000, i !== 200));
    const intents = tick(tasks);
    expect(condition(intents)).toEqual({
      kind: 'condition',
      target: { kind: 'OrchestratorPolicy', name: 'default' },
      condition: {
        type: 'SLOHealthy-success',
        status: 'True',
        reason: 'WithinBudget',
        message:
          '99% of tasks that end succeed: within budget (alerts above 14.4x over 1h and 5m, 6x over 6h and 30m); error budget left 75% of 30d (from the tasks the API server holds)',
      },
    });
    expect(metric(intents, 'slo_burn_rate', '6h')).toBeCloseTo(0.25, 10);
    expect(metric(intents, 'slo_burn_rate', '1h')).toBe(0);
    expect(metric(intents, 'slo_error_budget_remaining')).toBeCloseTo(0.75, 10);
    expect(metric(intents, 'slo_healthy')).toBe(1);
    expect(intents.filter((i) => i.kind === 'event')).toEqual([]);
  });

  it('a fast burn turns it False with a Warning Event, and recovery back with a Normal one', () => {
    // The last hour: every 4th task fails (25% errors: burn 25 on a 1% budget, in 1h and 5m).
    const burning = Array.from({ length: 120 }, (_, i) => ended(i, (i + 1) * 29_000, i % 4 !== 0));
    const was = policy([
      { type: 'SLOHealthy-success', status: 'True', reason: 'WithinBudget', message: 'm', lastTransitionTime: iso(NOW - 86_400_000) },
    ]);
    const intents = tick(burning, was);
    expect(condition(intents)).toMatchObject({ condition: { status: 'False', reason: 'FastBurn' } });
    expect(intents.filter((i) => i.kind === 'event')).toMatchObject([{ type: 'Warning', reason: 'SLOFastBurn' }]);
    expect(metric(intents, 'slo_healthy')).toBe(0);

    const burnt = policy([
      { type: 'SLOHealthy-success', status: 'False', reason: 'FastBurn', message: 'm', lastTransitionTime: iso(NOW - 60_000) },
    ]);
    const quiet = Array.from({ length: 120 }, (_, i) => ended(i, (i + 1) * 29_000, true));
    expect(tick(quiet, burnt).filter((i) => i.kind === 'event')).toMatchObject([{ type: 'Normal', reason: 'SLORecovered' }]);
  });

  it('QueueAge: a task waiting far past the threshold burns the budget fast, though nothing was assigned late yet', () => {
    const waiting = {
      metadata: { name: 'stuck', namespace: 'ns', uid: 'stuck', creationTimestamp: iso(NOW - 20 * 60_000) },
      spec: { requiredCapabilities: ['gpu'] },
      status: { phase: 'Pending', queuedAt: iso(NOW - 20 * 60_000) },
    } as unknown as TaskObject;
    const intents = tick([waiting], policy(), {
      slos: [{ name: 'queue', indicator: 'QueueAge', thresholdSeconds: 60, objectivePercent: 99 }],
    });
    expect(condition(intents)).toMatchObject({
      condition: {
        type: 'SLOHealthy-queue',
        status: 'False',
        reason: 'FastBurn',
        message: expect.stringMatching(
          /^99% of the time no task waits longer than 60s for an agent: the error budget burns fast/,
        ) as unknown,
      },
    });
    // 19 of the last 60 minutes bad: 31.7x a 1% budget; the whole last 5 minutes: 100x.
    expect(metric(intents, 'slo_burn_rate', '1h')).toBeCloseTo(19 / 60 / 0.01, 6);
    expect(metric(intents, 'slo_burn_rate', '5m')).toBeCloseTo(100, 6);
  });

  it('sends each change of verdict to alertWebhook as an Alertmanager payload: firing, then resolved', () => {
    const config = { ...SLOS, alertWebhook: { url: 'http://127.0.0.1:9093/hook', retries: 1 } };
    const burning = Array.from({ length: 120 }, (_, i) => ended(i, (i + 1) * 29_000, i % 4 !== 0));
    const since = NOW - 86_400_000;
    const fired = tick(
      burning,
      policy([{ type: 'SLOHealthy-success', status: 'True', reason: 'WithinBudget', message: 'm', lastTransitionTime: iso(since) }]),
      config,
    );
    const hook = fired.find((i) => i.kind === 'hook');
    expect(hook).toMatchObject({
      hook: { url: 'http://127.0.0.1:9093/hook', body: 'data', retries: 1, timeoutMs: 5000, failurePolicy: 'Ignore' },
    });
    expect(hook?.kind === 'hook' && hook.hook.event.data).toMatchObject({
      version: '4',
      status: 'firing',
      groupLabels: { namespace: 'ns', slo: 'success' },
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'AgentOrchestratorSLOFastBurn', namespace: 'ns', slo: 'success', policy: 'default', severity: 'critical' },
          startsAt: new Date(NOW).toISOString(),
          endsAt: '0001-01-01T00:00:00Z',
        },
      ],
    });

    const quiet = Array.from({ length: 120 }, (_, i) => ended(i, (i + 1) * 29_000, true));
    const resolved = tick(
      quiet,
      policy([{ type: 'SLOHealthy-success', status: 'False', reason: 'FastBurn', message: 'm', lastTransitionTime: iso(NOW - 60_000) }]),
      config,
    );
    const back = resolved.find((i) => i.kind === 'hook');
    expect(back?.kind === 'hook' && back.hook.event.data).toMatchObject({
      status: 'resolved',
      alerts: [
        {
          status: 'resolved',
          labels: { alertname: 'AgentOrchestratorSLOFastBurn' },
          startsAt: new Date(NOW - 60_000).toISOString(),
          endsAt: new Date(NOW).toISOString(),
        },
      ],
    });
    // Nothing to send while the verdict holds, nor without an alertWebhook.
    expect(
      tick(
        quiet,
        policy([{ type: 'SLOHealthy-success', status: 'True', reason: 'WithinBudget', message: 'm', lastTransitionTime: iso(since) }]),
        config,
      ).filter((i) => i.kind === 'hook'),
    ).toEqual([]);
    expect(
      tick(
        burning,
        policy([{ type: 'SLOHealthy-success', status: 'True', reason: 'WithinBudget', message: 'm', lastTransitionTime: iso(since) }]),
      ).filter((i) => i.kind === 'hook'),
    ).toEqual([]);
  });

  it('no Event for the first verdict of a new SLO', () => {
    expect(tick([ended(1, 1000, false)]).filter((i) => i.kind === 'event')).toEqual([]);
  });

  it('refuses a bad config naming the field', () => {
    expect(() => productionSlo.create({ slos: [{ name: 'x', indicator: 'QueueDepth', objectivePercent: 99 }] })).toThrow(
      /slos[\s\S]*indicator/,
    );
  });
});
