import { describe, expect, it } from 'vitest';
import type { TaskObject } from '../../operator/src/framework/index.ts';
import { slo, type Slo } from './config.ts';
import { badTimeOf, eventOf } from './indicator.ts';

const T0 = Date.parse('2026-11-30T10:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const s = (offset: number): string => iso(T0 + offset * 1000);

function taskWith(status: NonNullable<TaskObject['status']>, capabilities: string[] = ['review']): TaskObject {
  return {
    metadata: { name: 't', namespace: 'ns', uid: 'u', creationTimestamp: s(0) },
    spec: { requiredCapabilities: capabilities, timeoutSeconds: 3600, cancel: false, priority: 100 },
    status,
  };
}

const assignment: Slo = slo.parse({ name: 'a', indicator: 'AssignmentLatency', thresholdSeconds: 2, objectivePercent: 99 });
const endToEnd: Slo = slo.parse({ name: 'e', indicator: 'EndToEndLatency', thresholdSeconds: 60, objectivePercent: 99 });
const success: Slo = slo.parse({ name: 's', indicator: 'SuccessRatio', objectivePercent: 99 });
const assigned = (at: number, queued = 0): NonNullable<TaskObject['status']> => ({
  queuedAt: s(queued),
  assignment: { agent: 'x', attempt: 1, assignedAt: s(at) },
});

describe('eventOf', () => {
  it.each([
    ['assigned within the threshold', assignment, { phase: 'Running', ...assigned(2) }, 10, { at: T0 + 2000, good: true }],
    ['assigned late', assignment, { phase: 'Assigned', ...assigned(3) }, 10, { at: T0 + 3000, good: false }],
    [
      'measured from when it last became ready',
      assignment,
      { phase: 'Assigned', ...assigned(32, 30) },
      40,
      { at: T0 + 32_000, good: true },
    ],
    ['waiting, not yet late', assignment, { phase: 'Pending', queuedAt: s(0) }, 2, undefined],
    ['waiting past the threshold: bad already', assignment, { phase: 'Pending', queuedAt: s(0) }, 30, { at: T0 + 2000, good: false }],
    [
      'handed back and waiting: the old assignment does not count',
      assignment,
      { phase: 'Pending', queuedAt: s(20), assignment: { agent: 'x', attempt: 1, assignedAt: s(1) } },
      21,
      undefined,
    ],
    ['blocked on dependencies: not waiting for an agent', assignment, { phase: 'Blocked' }, 999, undefined],
    ['ended in time', endToEnd, { phase: 'Succeeded', completedAt: s(60) }, 100, { at: T0 + 60_000, good: true }],
    ['ended late, even if failed', endToEnd, { phase: 'Failed', completedAt: s(61) }, 100, { at: T0 + 61_000, good: false }],
    ['still running past the threshold: bad already', endToEnd, { phase: 'Running' }, 100, { at: T0 + 60_000, good: false }],
    ['cancelled: says nothing', endToEnd, { phase: 'Cancelled', completedAt: s(500) }, 600, undefined],
    ['succeeded', success, { phase: 'Succeeded', completedAt: s(5) }, 10, { at: T0 + 5000, good: true }],
    ['failed', success, { phase: 'Failed', completedAt: s(5) }, 10, { at: T0 + 5000, good: false }],
    ['not ended', success, { phase: 'Running' }, 10, undefined],
  ] as [string, Slo, NonNullable<TaskObject['status']>, number, unknown][])('%s', (_name, which, status, nowOffset, expected) => {
    expect(eventOf(which, taskWith(status), T0 + nowOffset * 1000)).toEqual(expected);
  });

  it('counts only tasks requiring the SLO’s capability when it names one', () => {
    const scoped = { ...success, capability: 'gpu' };
    expect(eventOf(scoped, taskWith({ phase: 'Failed', completedAt: s(5) }, ['review']), T0 + 10_000)).toBeUndefined();
    expect(eventOf(scoped, taskWith({ phase: 'Failed', completedAt: s(5) }, ['gpu', 'review']), T0 + 10_000)).toEqual({
      at: T0 + 5000,
      good: false,
    });
  });
});

describe('badTimeOf (QueueAge)', () => {
  const queueAge: Slo = slo.parse({ name: 'q', indicator: 'QueueAge', thresholdSeconds: 10, objectivePercent: 99 });
  it.each([
    ['assigned in time: no bad time', { phase: 'Running', ...assigned(8) }, 100, undefined],
    [
      'assigned late: from ready + threshold to the assignment',
      { phase: 'Running', ...assigned(25) },
      100,
      { from: T0 + 10_000, to: T0 + 25_000 },
    ],
    ['still waiting past the threshold: until now', { phase: 'Pending', queuedAt: s(0) }, 40, { from: T0 + 10_000, to: T0 + 40_000 }],
    ['still waiting, not yet late', { phase: 'Pending', queuedAt: s(0) }, 5, undefined],
    [
      'cancelled while waiting late: until it ended',
      { phase: 'Cancelled', queuedAt: s(0), completedAt: s(30) },
      100,
      { from: T0 + 10_000, to: T0 + 30_000 },
    ],
    ['blocked: not waiting for an agent', { phase: 'Blocked' }, 100, undefined],
  ] as [string, NonNullable<TaskObject['status']>, number, unknown][])('%s', (_name, status, nowOffset, expected) => {
    expect(badTimeOf(queueAge, taskWith(status), T0 + nowOffset * 1000)).toEqual(expected);
  });
});

describe('config', () => {
  it.each([
    [
      { name: 'a', indicator: 'SuccessRatio', objectivePercent: 99, thresholdSeconds: 2 },
      'thresholdSeconds is required for a latency or queue-age indicator and not allowed for SuccessRatio',
    ],
    [
      { name: 'a', indicator: 'AssignmentLatency', objectivePercent: 99 },
      'thresholdSeconds is required for a latency or queue-age indicator',
    ],
    [{ name: 'a', indicator: 'SuccessRatio', objectivePercent: 100 }, 'Too big'],
    [{ name: 'A', indicator: 'SuccessRatio', objectivePercent: 99 }, "an SLO name is lowercase letters, digits and '-'"],
  ])('refuses %j', (raw, message) => {
    const r = slo.safeParse(raw);
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message).join('; ')).toContain(message);
  });
});
