import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideAgent, restartBackoffMs, restartDue, type AgentObservation, type WorkloadObservation } from './agent-lifecycle.ts';

const NOW = 1_000_000_000;
const running: WorkloadObservation = { phase: 'Running', specHash: 'h1', startedAt: NOW - 10_000 };

function obs(overrides: Partial<AgentObservation> = {}): AgentObservation {
  return {
    now: NOW,
    deleting: false,
    desiredState: 'Active',
    specHash: 'h1',
    workload: running,
    heartbeatAt: NOW - 5_000,
    heartbeatTimeoutMs: 30_000,
    activeTasks: 0,
    drainGraceMs: 120_000,
    restarts: 0,
    startupGraceMs: 60_000,
    ...overrides,
  };
}

const stale = NOW - 45_000;

describe('decideAgent: every phase under every signal', () => {
  it.each([
    // situation, observation, phase, action, Ready reason
    ['new Agent, no workload', { workload: undefined, heartbeatAt: undefined }, 'Starting', 'ensure', 'WorkloadStarting'],
    [
      'workload created, not yet scheduled',
      { workload: { phase: 'Pending' }, heartbeatAt: undefined },
      'Pending',
      'none',
      'WorkloadPending',
    ],
    [
      'Pod waiting on a missing image',
      { workload: { phase: 'Pending', reason: 'ImagePullBackOff', message: 'pull access denied' }, heartbeatAt: undefined },
      'Failed',
      'none',
      'ImagePullBackOff',
    ],
    [
      'Pod in a crash loop',
      { workload: { phase: 'Pending', reason: 'CrashLoopBackOff', message: 'back-off 40s' }, heartbeatAt: undefined },
      'Failed',
      'none',
      'CrashLoopBackOff',
    ],
    ['running, first heartbeat not yet', { heartbeatAt: undefined }, 'Starting', 'none', 'WaitingForHeartbeat'],
    [
      'running, never a heartbeat past the startup grace',
      { heartbeatAt: undefined, workload: { ...running, startedAt: NOW - 120_000 } },
      'Failed',
      'none',
      'NoHeartbeat',
    ],
    ['running, fresh heartbeat, idle', {}, 'Ready', 'none', 'HeartbeatRenewed'],
    ['running, fresh heartbeat, tasks', { activeTasks: 2 }, 'Busy', 'none', 'HeartbeatRenewed'],
    ['running, heartbeat expired', { heartbeatAt: stale }, 'Failed', 'none', 'HeartbeatExpired'],
    [
      'runtime refused (image missing, engine down)',
      { workload: undefined, runtimeError: { reason: 'ImageNotFound', message: 'image x not found' } },
      'Failed',
      'none',
      'ImageNotFound',
    ],
    [
      'exited, backoff not over',
      { workload: { phase: 'Exited', exitCode: 1, reason: 'Error', finishedAt: NOW - 1_000 }, heartbeatAt: undefined },
      'Failed',
      'none',
      'CrashLoopBackOff',
    ],
    [
      'exited, backoff over',
      { workload: { phase: 'Exited', exitCode: 137, finishedAt: NOW - 20_000 }, heartbeatAt: stale },
      'Starting',
      'restart',
      'Restarting',
    ],
    ['asked to sleep, idle', { desiredState: 'Sleeping' }, 'Draining', 'remove', 'Draining'],
    ['asked to sleep, tasks running', { desiredState: 'Sleeping', activeTasks: 1 }, 'Draining', 'none', 'Draining'],
    [
      'asked to sleep, grace over',
      { desiredState: 'Sleeping', activeTasks: 1, drainingSince: NOW - 130_000 },
      'Draining',
      'remove',
      'Draining',
    ],
    ['asleep', { desiredState: 'Sleeping', workload: undefined, heartbeatAt: undefined }, 'Sleeping', 'none', 'Sleeping'],
    ['woken up', { desiredState: 'Active', workload: undefined, heartbeatAt: stale }, 'Starting', 'ensure', 'WorkloadStarting'],
    ['spec changed, idle', { specHash: 'h2' }, 'Starting', 'remove', 'Rolling'],
    ['spec changed, tasks running', { specHash: 'h2', activeTasks: 1 }, 'Draining', 'none', 'Draining'],
    ['spec changed, unhealthy: no point waiting', { specHash: 'h2', activeTasks: 1, heartbeatAt: stale }, 'Starting', 'remove', 'Rolling'],
    ['deleted, idle', { deleting: true }, 'Terminating', 'remove', 'Terminating'],
    ['deleted, tasks running', { deleting: true, activeTasks: 3 }, 'Draining', 'none', 'Draining'],
    ['deleted, grace over', { deleting: true, activeTasks: 3, drainingSince: NOW - 121_000 }, 'Terminating', 'remove', 'Terminating'],
    ['deleted, workload gone', { deleting: true, workload: undefined }, 'Terminating', 'finalize', 'Terminating'],
    ['deleted while asleep', { deleting: true, desiredState: 'Sleeping', workload: undefined }, 'Terminating', 'finalize', 'Terminating'],
    [
      'deleted, runtime unreachable: keep trying',
      { deleting: true, workload: undefined, runtimeError: { reason: 'RuntimeUnavailable', message: 'engine down' } },
      'Terminating',
      'remove',
      'RuntimeUnavailable',
    ],
    [
      'asked to sleep, runtime unreachable',
      { desiredState: 'Sleeping', workload: undefined, runtimeError: { reason: 'RuntimeUnavailable', message: 'engine down' } },
      'Draining',
      'remove',
      'RuntimeUnavailable',
    ],
    ['workload state unknown', { workload: { phase: 'Unknown' }, heartbeatAt: undefined }, 'Starting', 'none', 'WorkloadUnknown'],
    ['restart asked after the workload started, idle', { restartRequestedAt: NOW - 1_000 }, 'Starting', 'replace', 'Restarting'],
    ['restart asked before the workload started: already done', { restartRequestedAt: NOW - 20_000 }, 'Ready', 'none', 'HeartbeatRenewed'],
    [
      'restart asked in the second the workload started: already done',
      { restartRequestedAt: NOW - 10_000 },
      'Ready',
      'none',
      'HeartbeatRenewed',
    ],
    ['restart asked, tasks running', { restartRequestedAt: NOW - 1_000, activeTasks: 1 }, 'Draining', 'none', 'Draining'],
    [
      'restart asked, drain grace over',
      { restartRequestedAt: NOW - 1_000, activeTasks: 1, drainingSince: NOW - 130_000 },
      'Starting',
      'replace',
      'Restarting',
    ],
    [
      'restart asked, unhealthy: no point draining',
      { restartRequestedAt: NOW - 1_000, activeTasks: 1, heartbeatAt: stale },
      'Starting',
      'replace',
      'Restarting',
    ],
    [
      'restart asked, old Pod terminating',
      { restartRequestedAt: NOW - 1_000, workload: { phase: 'Exited', reason: 'Terminating', startedAt: NOW - 10_000 } },
      'Starting',
      'remove',
      'Restarting',
    ],
    [
      'restart asked, old container stopped before it',
      { restartRequestedAt: NOW - 1_000, workload: { phase: 'Exited', exitCode: 0, finishedAt: NOW - 2_000 }, heartbeatAt: undefined },
      'Starting',
      'remove',
      'Restarting',
    ],
    [
      'restart asked, the workload gone',
      { restartRequestedAt: NOW - 1_000, workload: undefined, heartbeatAt: undefined },
      'Starting',
      'ensure',
      'WorkloadStarting',
    ],
    [
      'restart asked, the replacement being made',
      { restartRequestedAt: NOW - 1_000, workload: { phase: 'Pending' }, heartbeatAt: undefined },
      'Pending',
      'none',
      'WorkloadPending',
    ],
    [
      'restart asked, the replacement running',
      { restartRequestedAt: NOW - 1_000, workload: { ...running, startedAt: NOW - 500 } },
      'Ready',
      'none',
      'HeartbeatRenewed',
    ],
    [
      'restart asked, crashed after it: the crash backoff rules',
      {
        restartRequestedAt: NOW - 9_000,
        workload: { phase: 'Exited', exitCode: 1, startedAt: NOW - 8_000, finishedAt: NOW - 1_000 },
        heartbeatAt: undefined,
      },
      'Failed',
      'none',
      'CrashLoopBackOff',
    ],
    [
      'restart asked while asleep: stays asleep',
      { restartRequestedAt: NOW - 1_000, desiredState: 'Sleeping', workload: undefined, heartbeatAt: undefined },
      'Sleeping',
      'none',
      'Sleeping',
    ],
    [
      'restart asked and spec changed: one roll does both',
      { restartRequestedAt: NOW - 1_000, specHash: 'h2' },
      'Starting',
      'remove',
      'Rolling',
    ],
    ['restart asked while being deleted', { restartRequestedAt: NOW - 1_000, deleting: true }, 'Terminating', 'remove', 'Terminating'],
    [
      'restart asked in the second the workload started, which was made under no request',
      { restartRequestedAt: NOW - 10_000, workload: { ...running, restartRequest: 0 } },
      'Starting',
      'replace',
      'Restarting',
    ],
    [
      'restart asked, the workload made under that very request',
      { restartRequestedAt: NOW - 1_000, workload: { ...running, startedAt: NOW - 10_000, restartRequest: NOW - 1_000 } },
      'Ready',
      'none',
      'HeartbeatRenewed',
    ],
    [
      'restart asked again, the workload made under an earlier request',
      { restartRequestedAt: NOW - 1_000, workload: { ...running, startedAt: NOW - 500, restartRequest: NOW - 9_000 } },
      'Starting',
      'replace',
      'Restarting',
    ],
    [
      'restart asked, the replacement being made under it',
      { restartRequestedAt: NOW - 1_000, workload: { phase: 'Pending', restartRequest: NOW - 1_000 }, heartbeatAt: undefined },
      'Pending',
      'none',
      'WorkloadPending',
    ],
  ] as [string, Partial<AgentObservation>, string, string, string][])('%s', (_situation, overrides, phase, action, reason) => {
    const d = decideAgent(obs(overrides));
    expect([d.phase, d.action.type, d.ready.reason]).toEqual([phase, action, reason]);
  });
});

describe('decideAgent details', () => {
  it('marks Healthy from the heartbeat alone', () => {
    expect(decideAgent(obs()).healthy).toMatchObject({ status: 'True', reason: 'HeartbeatRenewed' });
    expect(decideAgent(obs({ heartbeatAt: stale })).healthy).toMatchObject({
      status: 'False',
      reason: 'HeartbeatExpired',
      message: `no heartbeat since ${new Date(stale).toISOString().replace('.000Z', 'Z')}, timeout 30s`,
    });
    expect(decideAgent(obs({ heartbeatAt: undefined })).healthy).toMatchObject({ status: 'Unknown' });
  });

  it('keeps serving on its heartbeat when the runtime cannot be looked at, and counts no restart', () => {
    const unreachable = {
      reason: 'RuntimeUnavailable',
      message: 'the Docker engine at tcp://127.0.0.1:2375 cannot be reached: connect ECONNREFUSED',
      observing: true,
    };
    const d = decideAgent(obs({ workload: undefined, runtimeError: unreachable, restarts: 2, activeTasks: 1 }));
    expect([d.phase, d.ready.status, d.ready.reason, d.action.type, d.restarts]).toEqual(['Busy', 'True', 'RuntimeUnavailable', 'none', 2]);
    expect(d.ready.message).toBe(
      'serving on its heartbeat, but the Docker engine at tcp://127.0.0.1:2375 cannot be reached: connect ECONNREFUSED: the workload is not watched or restarted until the runtime answers',
    );
    // The same look later says the same thing: no status write per heartbeat.
    expect(
      decideAgent(
        obs({ now: NOW + 7_000, heartbeatAt: NOW + 6_000, workload: undefined, runtimeError: unreachable, restarts: 2, activeTasks: 1 }),
      ).ready,
    ).toEqual(d.ready);
    // Without a fresh heartbeat nothing vouches for the workload: Failed, with backoff.
    const lost = decideAgent(obs({ heartbeatAt: stale, workload: undefined, runtimeError: unreachable, restarts: 2 }));
    expect([lost.phase, lost.ready.reason, lost.restarts]).toEqual(['Failed', 'RuntimeUnavailable', 3]);
    // A failure to act on a workload that was seen (a restart that cannot pull) is no reason to serve.
    const acting = decideAgent(
      obs({ workload: { phase: 'Exited', finishedAt: NOW - 60_000 }, runtimeError: { reason: 'ImageNotFound', message: 'no image' } }),
    );
    expect(acting.phase).toBe('Failed');
  });

  it('surfaces the exit reason and the wait in a crash loop', () => {
    const d = decideAgent(
      obs({
        restarts: 2,
        heartbeatAt: undefined,
        workload: { phase: 'Exited', exitCode: 3, reason: 'Error', message: 'config missing', finishedAt: NOW - 5_000 },
      }),
    );
    expect(d.ready.message).toBe(
      `the workload exited with code 3 (Error): config missing; restarting at ${new Date(NOW + 35_000).toISOString().replace('.000Z', 'Z')} (backoff 40s)`,
    );
    expect(d.requeueAfterMs).toBe(35_000);
  });

  it('counts restarts and failed starts, and forgets them once healthy', () => {
    expect(decideAgent(obs({ restarts: 1, workload: { phase: 'Exited', finishedAt: NOW - 30_000 } })).restarts).toBe(2);
    expect(
      decideAgent(obs({ restarts: 4, workload: undefined, runtimeError: { reason: 'RuntimeUnavailable', message: 'engine down' } })),
    ).toMatchObject({
      restarts: 5,
      requeueAfterMs: restartBackoffMs(4),
    });
    expect(decideAgent(obs({ restarts: 4 })).restarts).toBe(0);
  });

  it('keeps the draining start and requeues at the end of the grace', () => {
    const first = decideAgent(obs({ desiredState: 'Sleeping', activeTasks: 1 }));
    expect([first.drainingSince, first.requeueAfterMs]).toEqual([NOW, 25_001]);
    const later = decideAgent(obs({ desiredState: 'Sleeping', activeTasks: 1, drainingSince: NOW - 100_000, heartbeatAt: NOW }));
    expect([later.drainingSince, later.requeueAfterMs]).toEqual([NOW - 100_000, 20_000]);
  });

  it('counts an asked-for restart once, when the running workload is taken down, and says when it was asked', () => {
    const asked = NOW - 1_000;
    const first = decideAgent(obs({ restarts: 1, restartRequestedAt: asked }));
    expect([first.action.type, first.restarts]).toEqual(['replace', 2]);
    expect(first.ready.message).toBe(
      `restarting the workload as asked at ${new Date(asked).toISOString().replace('.000Z', 'Z')} (annotation agents.orchestrator.dev/restartedAt)`,
    );
    const terminating = decideAgent(
      obs({ restarts: 2, restartRequestedAt: asked, workload: { phase: 'Exited', reason: 'Terminating', startedAt: NOW - 10_000 } }),
    );
    expect([terminating.action.type, terminating.restarts]).toEqual(['remove', 2]);
    const draining = decideAgent(obs({ restartRequestedAt: asked, activeTasks: 2 }));
    expect(draining.ready.message).toMatch(/^restarting as asked at .*: waiting for 2 running task\(s\) until /);
  });

  it('replaces a workload exactly when it was made under an earlier request than the last (property)', () => {
    fc.assert(
      fc.property(
        fc.nat(1_000_000),
        fc.nat(1_000_000),
        fc.constantFrom<WorkloadObservation['phase']>('Pending', 'Running', 'Exited', 'Unknown'),
        (asked, made, phase) => {
          expect(restartDue({ restartRequestedAt: asked, workload: { phase, restartRequest: made, startedAt: asked + 5_000 } })).toBe(
            asked > made,
          );
        },
      ),
    );
  });

  it('without a record, never replaces a workload that started at or after the request, nor one still being made (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.constantFrom<WorkloadObservation['phase']>('Pending', 'Running', 'Exited', 'Unknown'),
        (asked, startedAfter, phase) => {
          const workload: WorkloadObservation = { phase, startedAt: asked + startedAfter };
          expect(restartDue({ restartRequestedAt: asked, workload })).toBe(false);
          if (phase === 'Pending' || phase === 'Unknown')
            expect(restartDue({ restartRequestedAt: asked + startedAfter + 1, workload })).toBe(false);
          else expect(restartDue({ restartRequestedAt: asked + startedAfter + 1, workload })).toBe(true);
          expect(restartDue({ workload })).toBe(false);
        },
      ),
    );
  });

  it('backs off 10 s doubling to 5 min', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(restartBackoffMs)).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });
});

const workloadArb: fc.Arbitrary<WorkloadObservation | undefined> = fc.option(
  fc.record(
    {
      phase: fc.constantFrom('Pending', 'Running', 'Exited', 'Unknown'),
      specHash: fc.constantFrom('h1', 'h2'),
      reason: fc.constantFrom('CrashLoopBackOff', 'Error', 'OOMKilled', 'ContainerCreating'),
      exitCode: fc.integer({ min: 0, max: 255 }),
      startedAt: fc.integer({ min: NOW - 600_000, max: NOW }),
      finishedAt: fc.integer({ min: NOW - 600_000, max: NOW }),
    },
    { requiredKeys: ['phase'] },
  ),
  { nil: undefined },
);

const observationArb: fc.Arbitrary<AgentObservation> = fc.record({
  now: fc.constant(NOW),
  deleting: fc.boolean(),
  desiredState: fc.constantFrom('Active', 'Sleeping'),
  specHash: fc.constantFrom('h1', 'h2'),
  workload: workloadArb,
  heartbeatAt: fc.option(fc.integer({ min: NOW - 120_000, max: NOW }), { nil: undefined }),
  heartbeatTimeoutMs: fc.integer({ min: 2_000, max: 60_000 }),
  activeTasks: fc.integer({ min: 0, max: 5 }),
  drainingSince: fc.option(fc.integer({ min: NOW - 300_000, max: NOW }), { nil: undefined }),
  drainGraceMs: fc.integer({ min: 0, max: 300_000 }),
  restarts: fc.integer({ min: 0, max: 20 }),
  startupGraceMs: fc.integer({ min: 1_000, max: 120_000 }),
  runtimeError: fc.option(
    fc.record({ reason: fc.constantFrom('ImageNotFound', 'RuntimeUnavailable'), message: fc.string(), observing: fc.boolean() }),
    { nil: undefined },
  ),
});

describe('decideAgent invariants', () => {
  it('is Ready (or Busy) exactly when the heartbeat is fresh and the workload runs the current spec, or cannot be looked at', () => {
    fc.assert(
      fc.property(observationArb, (o) => {
        const d = decideAgent(o);
        const fresh = o.heartbeatAt !== undefined && o.now - o.heartbeatAt <= o.heartbeatTimeoutMs;
        const serving = d.phase === 'Ready' || d.phase === 'Busy';
        expect(d.ready.status === 'True').toBe(serving);
        if (serving) {
          if (o.runtimeError?.observing && !o.workload) expect(d.ready.reason).toBe('RuntimeUnavailable');
          else expect(o.workload?.phase).toBe('Running');
          expect(fresh).toBe(true);
          expect(o.deleting || o.desiredState === 'Sleeping').toBe(false);
        }
      }),
    );
  });

  it('never starts a workload for an Agent that is being deleted or asked to sleep', () => {
    fc.assert(
      fc.property(observationArb, (o) => {
        const { action } = decideAgent(o);
        if (o.deleting || o.desiredState === 'Sleeping') expect(['ensure', 'restart']).not.toContain(action.type);
        if (action.type === 'finalize') expect([o.deleting, o.workload, o.runtimeError]).toEqual([true, undefined, undefined]);
      }),
    );
  });

  it('says the same thing when nothing changed but the clock (no status churn)', () => {
    fc.assert(
      fc.property(observationArb, fc.integer({ min: 1, max: 900 }), (o, later) => {
        const a = decideAgent(o);
        // What the controller keeps in status between reconciles goes back in.
        const b = decideAgent({ ...o, now: o.now + later, drainingSince: a.drainingSince, restarts: a.restarts });
        // A retry that counted an attempt is a change of its own; everything else must not move.
        const settled = a.action.type === 'none' && b.action.type === 'none' && a.restarts === o.restarts;
        if (settled && a.phase === b.phase && a.ready.reason === b.ready.reason) {
          expect(b.ready.message).toBe(a.ready.message);
          if (a.healthy.status === b.healthy.status) expect(b.healthy.message).toBe(a.healthy.message);
        }
      }),
    );
  });

  it('requeues only forward in time, with a CamelCase reason', () => {
    fc.assert(
      fc.property(observationArb, (o) => {
        const d = decideAgent(o);
        if (d.requeueAfterMs !== undefined) expect(d.requeueAfterMs).toBeGreaterThan(0);
        expect(d.ready.reason).toMatch(/^[A-Z][A-Za-z]*$/);
      }),
    );
  });
});
