import { describe, expect, it } from 'vitest';
import type { AgentPhase, ConditionDecision } from './agent-lifecycle.ts';
import {
  FIRST_STATUS_QUIET_MS,
  firstStatusHeldForMs,
  heartbeatTimeToRecord,
  reportOnly,
  type WrittenStatus,
} from './agent-status-writes.ts';

const CREATED = 1_000_000;

describe('firstStatusHeldForMs', () => {
  it.each<[string, WrittenStatus | undefined, AgentPhase, number, number | undefined]>([
    ['new, Pending, just created: held for the rest of the quiet time', undefined, 'Pending', 300, FIRST_STATUS_QUIET_MS - 300],
    ['new, Starting', {}, 'Starting', 0, FIRST_STATUS_QUIET_MS],
    ['new, still on its way after the quiet time: written', undefined, 'Starting', FIRST_STATUS_QUIET_MS, undefined],
    ['new and Ready: written at once', undefined, 'Ready', 10, undefined],
    ['new and Failed: written at once', undefined, 'Failed', 10, undefined],
    ['already has a phase: every change written', { phase: 'Sleeping' }, 'Starting', 10, undefined],
    ['made "in the future" by a clock a little behind the API server’s: held', undefined, 'Pending', -300, FIRST_STATUS_QUIET_MS],
    ['a clock far behind the API server’s: written, never held forever', undefined, 'Pending', -5_000, undefined],
  ])('%s', (_name, current, decided, age, held) => {
    expect(firstStatusHeldForMs(current, decided, CREATED, CREATED + age)).toBe(held);
  });
});

describe('reportOnly', () => {
  const ready: ConditionDecision = { status: 'True', reason: 'HeartbeatRenewed', message: '' };
  const healthy: ConditionDecision = { status: 'True', reason: 'HeartbeatRenewed', message: '' };
  const serving: WrittenStatus = {
    phase: 'Ready',
    conditions: [
      { type: 'Ready', ...ready },
      { type: 'Healthy', ...healthy },
    ],
  };
  it.each<[string, WrittenStatus | undefined, AgentPhase, Omit<ConditionDecision, 'message'>, boolean]>([
    ['Pending of a new agent', undefined, 'Pending', { status: 'False', reason: 'WorkloadPending' }, true],
    ['Starting after sleep', { phase: 'Sleeping' }, 'Starting', { status: 'False', reason: 'WaitingForHeartbeat' }, true],
    [
      'Starting of a serving agent (a restart): the router must know',
      serving,
      'Starting',
      { status: 'False', reason: 'Restarting' },
      false,
    ],
    ['Ready of a new agent', undefined, 'Ready', ready, false],
    ['Failed of a serving agent', serving, 'Failed', { status: 'False', reason: 'HeartbeatExpired' }, false],
    ['the same phase and conditions (a heartbeat time refresh)', serving, 'Ready', ready, true],
    ['the same phase, another reason', serving, 'Ready', { status: 'True', reason: 'RuntimeUnavailable' }, false],
  ])('%s → %s', (_name, current, phase, readyCondition, expected) => {
    expect(reportOnly(current, { phase, ready: { ...readyCondition, message: '' }, healthy })).toBe(expected);
  });
});

describe('heartbeatTimeToRecord', () => {
  const LAG = 15_000;
  it.each<[string, number | undefined, number | undefined, number | undefined]>([
    ['no Lease renewal: the recorded time stands', 5_000, undefined, 5_000],
    ['neither', undefined, undefined, undefined],
    ['the first renewal', undefined, 20_000, 20_000],
    ['a recorded time lagging less than the bound stands (no write per heartbeat)', 10_000, 20_000, 10_000],
    ['a recorded time lagging by the bound is refreshed', 5_000, 20_000, 20_000],
    ['a recorded time after the renewal (written by someone else) is replaced', Date.UTC(2999, 0, 1), 20_000, 20_000],
    ['a recorded time equal to the renewal stands', 20_000, 20_000, 20_000],
  ])('%s', (_what, recorded, heartbeatAt, expected) => {
    expect(heartbeatTimeToRecord(recorded, heartbeatAt, LAG)).toBe(expected);
  });
});
