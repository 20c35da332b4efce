import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RESTART_ANNOTATION } from '../../operator/src/api/common.ts';
import type { AgentObject, Intent } from '../../operator/src/framework/index.ts';
import type { RecoveryConfig } from './config.ts';
import {
  backoffMs,
  decideRecovery,
  RECOVERING_CONDITION,
  recordOf,
  recoveryIntents,
  type RecoveryDecision,
  type RecoveryObservation,
} from './recovery.ts';

const NOW = 1_800_000_000_000;
const S = 1000;
const config: RecoveryConfig = { restartAfterFailures: 3, backoffSeconds: 60, maxRestarts: 3 };
const obs = (o: Partial<RecoveryObservation> = {}): RecoveryObservation => ({ now: NOW, consecutiveFailures: 0, restarts: 0, ...o });

describe('decideRecovery', () => {
  it.each([
    // case, observation, decision
    ['no failures', {}, { kind: 'none' }],
    ['failures below the threshold', { consecutiveFailures: 2, lastFailureAt: NOW - S }, { kind: 'none' }],
    ['the threshold reached: restart at once', { consecutiveFailures: 3, lastFailureAt: NOW - S }, { kind: 'restart', restart: 1 }],
    ['the threshold reached, no failure time known', { consecutiveFailures: 3 }, { kind: 'restart', restart: 1 }],
    [
      'restarted since the last failure: wait for the next one',
      { consecutiveFailures: 3, lastFailureAt: NOW - 10 * S, restartedAt: NOW - 5 * S, restarts: 1 },
      { kind: 'none' },
    ],
    [
      'a failure in the same second as the restart came before it',
      { consecutiveFailures: 3, lastFailureAt: NOW - 5 * S, restartedAt: NOW - 5 * S, restarts: 1 },
      { kind: 'none' },
    ],
    [
      'restarted once, failed again within the backoff',
      { consecutiveFailures: 4, lastFailureAt: NOW - S, restartedAt: NOW - 30 * S, restarts: 1 },
      { kind: 'backoff', at: NOW + 30 * S },
    ],
    [
      'restarted once, failed again after the backoff',
      { consecutiveFailures: 4, lastFailureAt: NOW - S, restartedAt: NOW - 60 * S, restarts: 1 },
      { kind: 'restart', restart: 2 },
    ],
    [
      'restarted twice: the backoff has doubled',
      { consecutiveFailures: 5, lastFailureAt: NOW - S, restartedAt: NOW - 100 * S, restarts: 2 },
      { kind: 'backoff', at: NOW + 20 * S },
    ],
    [
      'at maxRestarts: no more',
      { consecutiveFailures: 9, lastFailureAt: NOW - S, restartedAt: NOW - 3600 * S, restarts: 3 },
      { kind: 'limit' },
    ],
    [
      'a restart by a person before the first of ours',
      { consecutiveFailures: 3, lastFailureAt: NOW - 10 * S, restartedAt: NOW - 5 * S },
      { kind: 'none' },
    ],
    [
      'after ours, the count tells a new failure even in the same second',
      { consecutiveFailures: 4, lastFailureAt: NOW - 5 * S, restartedAt: NOW - 5 * S, restarts: 1, failuresAtRestart: 3 },
      { kind: 'backoff', at: NOW + 55 * S },
    ],
    [
      'after ours, no new failure yet whatever the times say',
      { consecutiveFailures: 3, lastFailureAt: NOW - S, restartedAt: NOW - 5 * S, restarts: 1, failuresAtRestart: 3 },
      { kind: 'none' },
    ],
    ['a success after restarts', { consecutiveFailures: 0, restarts: 2, reason: 'Restarted' }, { kind: 'recovered' }],
    ['a success after the limit', { consecutiveFailures: 0, restarts: 3, reason: 'RestartLimitReached' }, { kind: 'recovered' }],
    [
      'recorded, not carried out yet',
      { consecutiveFailures: 3, lastFailureAt: NOW - S, restarts: 1, failuresAtRestart: 3, requestedAt: NOW - S },
      { kind: 'actuate', restart: 1 },
    ],
    [
      'recorded again, the annotation still the previous restart',
      {
        consecutiveFailures: 4,
        lastFailureAt: NOW - S,
        restartedAt: NOW - 90 * S,
        restarts: 2,
        failuresAtRestart: 4,
        requestedAt: NOW - S,
      },
      { kind: 'actuate', restart: 2 },
    ],
    [
      'recorded and carried out in the same second',
      { consecutiveFailures: 3, lastFailureAt: NOW - S, restartedAt: NOW - S, restarts: 1, failuresAtRestart: 3, requestedAt: NOW - S },
      { kind: 'none' },
    ],
    [
      'recorded, but a task succeeded before it was carried out',
      { consecutiveFailures: 0, restarts: 1, failuresAtRestart: 3, requestedAt: NOW - S, reason: 'Restarted' },
      { kind: 'recovered' },
    ],
  ] as [string, Partial<RecoveryObservation>, RecoveryDecision][])('%s', (_case, o, decision) => {
    expect(decideRecovery(obs(o), config)).toEqual(decision);
  });

  it('backs off from backoffSeconds, doubling per restart', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs({ backoffSeconds: 60 }, n))).toEqual([60 * S, 120 * S, 240 * S, 480 * S]);
  });

  it('in a run of failures, restarts at most maxRestarts times, each after a new failure and the doubled backoff (property)', () => {
    const step = fc.record({ dt: fc.integer({ min: 1, max: 600 }), fails: fc.boolean() });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 120 }),
        fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
        fc.array(step, { maxLength: 60 }),
        (k, backoff, max, steps) => {
          const c: RecoveryConfig = {
            restartAfterFailures: k,
            backoffSeconds: backoff,
            ...(max !== undefined ? { maxRestarts: max } : {}),
          };
          let now = NOW;
          let failures = 0;
          let lastFailureAt: number | undefined;
          let restartedAt: number | undefined;
          let restarts = 0;
          let failuresAtRestart: number | undefined;
          let requestedAt: number | undefined;
          const made: number[] = [];
          for (const s of steps) {
            now += s.dt * S;
            if (s.fails) {
              failures++;
              lastFailureAt = now;
            }
            const d = decideRecovery(
              { now, consecutiveFailures: failures, lastFailureAt, restartedAt, restarts, failuresAtRestart, requestedAt },
              c,
            );
            expect(d.kind).not.toBe('actuate');
            if (d.kind === 'restart') {
              expect(failures).toBeGreaterThanOrEqual(k);
              expect(failuresAtRestart === undefined || failures > failuresAtRestart).toBe(true);
              if (restartedAt !== undefined && restarts > 0) expect(now - restartedAt).toBeGreaterThanOrEqual(backoffMs(c, restarts));
              restarts = d.restart;
              requestedAt = now;
              failuresAtRestart = failures;
              made.push(now);
              // The next tick carries it out, once.
              expect(
                decideRecovery(
                  { now, consecutiveFailures: failures, lastFailureAt, restartedAt, restarts, failuresAtRestart, requestedAt },
                  c,
                ),
              ).toEqual({ kind: 'actuate', restart: restarts });
              restartedAt = now;
            }
            if (d.kind === 'backoff') expect(d.at).toBeGreaterThan(now);
          }
          if (max !== undefined) expect(made.length).toBeLessThanOrEqual(max);
        },
      ),
    );
  });
});

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
function agentObj(o: {
  failures?: number;
  lastFailureAt?: number;
  restartedAt?: number;
  condition?: { status: 'True' | 'False'; reason: string; message: string };
  sleeping?: boolean;
}): AgentObject {
  return {
    metadata: {
      name: 'a1',
      namespace: 'ns',
      uid: 'u',
      ...(o.restartedAt !== undefined ? { annotations: { [RESTART_ANNOTATION]: iso(o.restartedAt) } } : {}),
    },
    spec: { desiredState: o.sleeping ? 'Sleeping' : 'Active' },
    status: {
      stats: {
        succeeded: 0,
        failed: o.failures ?? 0,
        consecutiveFailures: o.failures ?? 0,
        ...(o.lastFailureAt !== undefined ? { lastFailureTime: iso(o.lastFailureAt) } : {}),
      },
      conditions: o.condition ? [{ type: RECOVERING_CONDITION, ...o.condition, lastTransitionTime: iso(NOW - 3600 * S) }] : [],
    },
  } as unknown as AgentObject;
}
const kinds = (intents: readonly Intent[]): string[] =>
  intents.map((i) =>
    i.kind === 'condition'
      ? `condition ${i.condition.status} ${i.condition.reason}`
      : i.kind === 'event'
        ? `event ${i.reason}`
        : i.kind === 'agent'
          ? `${i.action} ${i.agent}`
          : i.kind,
  );

describe('recoveryIntents', () => {
  it('records the restart in the Recovering condition, then carries it out on the next tick, once', () => {
    const intents = recoveryIntents(agentObj({ failures: 3, lastFailureAt: NOW - S }), config, NOW);
    expect(kinds(intents)).toEqual(['condition True Restarted']);
    const condition = intents[0]?.kind === 'condition' ? intents[0].condition : undefined;
    expect(condition?.message).toBe(
      `restarted 1 time since its last success, the last after 3 consecutive failures, at ${iso(NOW)} (recovery.maxRestarts 3); another restart needs a new failure and waits 60s`,
    );
    expect(recordOf(condition?.message)).toEqual({ restarts: 1, failuresAtRestart: 3, requestedAt: NOW });
    const recorded = { status: 'True' as const, reason: 'Restarted', message: condition?.message ?? '' };
    // The next tick writes the annotation; a tick after a failed write writes it again.
    for (const tick of [NOW + S, NOW + 5 * S]) {
      const actuated = recoveryIntents(agentObj({ failures: 3, lastFailureAt: NOW - S, condition: recorded }), config, tick);
      expect(kinds(actuated)).toEqual(['restart a1']);
      expect(actuated[0]).toMatchObject({
        reason: 'RecoveryRestart',
        message: '3 consecutive failures (recovery.restartAfterFailures 3): restart 1 (recovery.maxRestarts 3) since its last success',
      });
    }
    expect(
      recoveryIntents(agentObj({ failures: 3, lastFailureAt: NOW - S, restartedAt: NOW + S, condition: recorded }), config, NOW + 2 * S),
    ).toEqual([]);
  });

  it('reads the count back, waits for the backoff, and restarts again', () => {
    const restarted = {
      status: 'True' as const,
      reason: 'Restarted',
      message: 'restarted 2 times since its last success, the last after 4 consecutive failures, …',
    };
    const waiting = recoveryIntents(
      agentObj({ failures: 5, lastFailureAt: NOW - S, restartedAt: NOW - 100 * S, condition: restarted }),
      config,
      NOW,
    );
    expect(waiting).toEqual([{ kind: 'requeue', afterMs: 20 * S }]);
    const again = recoveryIntents(
      agentObj({ failures: 5, lastFailureAt: NOW - S, restartedAt: NOW - 120 * S, condition: restarted }),
      config,
      NOW,
    );
    expect(kinds(again)).toEqual(['condition True Restarted']);
    expect(again[0]?.kind === 'condition' && again[0].condition.message).toMatch(/^restarted 3 times since its last success/);
  });

  it('stops at maxRestarts with a Warning, once', () => {
    const three = {
      status: 'True' as const,
      reason: 'Restarted',
      message: 'restarted 3 times since its last success, the last after 7 consecutive failures, …',
    };
    const limit = recoveryIntents(
      agentObj({ failures: 9, lastFailureAt: NOW - S, restartedAt: NOW - 3600 * S, condition: three }),
      config,
      NOW,
    );
    expect(kinds(limit)).toEqual(['condition True RestartLimitReached', 'event RestartLimitReached']);
    const said = limit[0]?.kind === 'condition' ? limit[0].condition : three;
    expect(said.message).toBe(
      'restarted 3 times since its last success, the last after 7 consecutive failures; as many as recovery.maxRestarts allows: no more restarts until a task succeeds (9 consecutive failures now)',
    );
    expect(recordOf(said.message)).toEqual({ restarts: 3, failuresAtRestart: 7 });
    expect(
      recoveryIntents(
        agentObj({ failures: 10, lastFailureAt: NOW - S, restartedAt: NOW - 3600 * S, condition: { ...said, status: 'True' } }),
        config,
        NOW,
      ),
    ).toEqual([]);
  });

  it('says the agent recovered once a task succeeds, once', () => {
    const three = {
      status: 'True' as const,
      reason: 'Restarted',
      message: 'restarted 3 times since its last success, the last after 7 consecutive failures, …',
    };
    const recovered = recoveryIntents(agentObj({ failures: 0, restartedAt: NOW - 60 * S, condition: three }), config, NOW);
    expect(kinds(recovered)).toEqual(['condition False Recovered', 'event Recovered']);
    const after = { status: 'False' as const, reason: 'Recovered', message: 'fewer than 3 consecutive failures again after 3 restarts' };
    expect(recoveryIntents(agentObj({ failures: 0, restartedAt: NOW - 60 * S, condition: after }), config, NOW)).toEqual([]);
    // A new run of failures starts counting from one again.
    expect(
      kinds(recoveryIntents(agentObj({ failures: 3, lastFailureAt: NOW - S, restartedAt: NOW - 60 * S, condition: after }), config, NOW)),
    ).toEqual(['condition True Restarted']);
  });

  it('leaves sleeping agents and agents being deleted alone', () => {
    expect(recoveryIntents(agentObj({ failures: 3, lastFailureAt: NOW - S, sleeping: true }), config, NOW)).toEqual([]);
    const deleting = agentObj({ failures: 3, lastFailureAt: NOW - S });
    expect(recoveryIntents({ ...deleting, metadata: { ...deleting.metadata, deletionTimestamp: iso(NOW) } }, config, NOW)).toEqual([]);
  });
});
