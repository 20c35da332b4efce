import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decideTask,
  failedAttempts,
  HISTORY_MAX,
  isTerminal,
  retryDelayMs,
  stillDecidable,
  type DecidedOn,
  type HistoryEntry,
  type TaskObservation,
} from './task-lifecycle.ts';

const NOW = 2_000_000_000_000;
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const failed = (n: number): HistoryEntry[] =>
  Array.from({ length: n }, (_, i) => ({ agent: 'a', outcome: 'Failed' as const, reason: `exit code ${i + 1}`, time: iso(NOW - 1000) }));

function obs(overrides: Partial<TaskObservation> = {}): TaskObservation {
  return {
    now: NOW,
    phase: 'Pending',
    cancel: false,
    attempts: 0,
    history: [],
    finished: false,
    timeoutMs: 60_000,
    retries: { max: 2, backoffMs: 10_000 },
    reassignDelayMs: 5_000,
    timeoutGraceMs: 30_000,
    dependencies: { state: 'ready' },
    ...overrides,
  };
}

const assigned = { agent: 'a', attempt: 1, assignedAt: NOW - 10_000 };
const healthy = { exists: true, healthy: true, leaving: false };
const claimed = (by: string): TaskObservation['assignment'] => ({ ...assigned, claimedBy: by });

describe('decideTask: every phase under every signal', () => {
  it.each([
    ['new task, no dependencies', { phase: undefined }, 'Pending', true, undefined],
    ['pending, routable', {}, 'Pending', true, undefined],
    ['pending, backing off', { retryAt: NOW + 5_000 }, 'Pending', false, undefined],
    ['pending, backoff over', { retryAt: NOW - 1 }, 'Pending', true, undefined],
    [
      'new task waiting on a dependency',
      { phase: undefined, dependencies: { state: 'waiting', reason: 'DependenciesPending', message: 'waiting for build' } },
      'Blocked',
      false,
      'DependenciesPending',
    ],
    [
      'blocked, dependency still running',
      { phase: 'Blocked', dependencies: { state: 'waiting', reason: 'DependenciesPending', message: 'waiting for build' } },
      'Blocked',
      false,
      'DependenciesPending',
    ],
    [
      'blocked, dependency missing',
      { phase: 'Blocked', dependencies: { state: 'waiting', reason: 'DependencyMissing', message: 'dependency lint does not exist' } },
      'Blocked',
      false,
      'DependencyMissing',
    ],
    ['blocked, dependencies done', { phase: 'Blocked' }, 'Pending', true, undefined],
    [
      'blocked, a dependency failed',
      { phase: 'Blocked', dependencies: { state: 'failed', reason: 'DependencyFailed', message: 'dependency build failed' } },
      'Failed',
      false,
      'DependencyFailed',
    ],
    [
      'pending, dependency cycle',
      { dependencies: { state: 'cycle', reason: 'DependencyCycle', message: 'dependency cycle: a → b → a' } },
      'Failed',
      false,
      'DependencyCycle',
    ],
    ['assigned, agent fine', { phase: 'Assigned', attempts: 1, assignment: assigned, agent: healthy }, 'Assigned', false, undefined],
    [
      'assigned, agent deleted',
      { phase: 'Assigned', attempts: 1, assignment: assigned, agent: { exists: false, healthy: false, leaving: false } },
      'Pending',
      false,
      'HandedBack',
    ],
    [
      'assigned, agent going to sleep',
      { phase: 'Assigned', attempts: 1, assignment: assigned, agent: { ...healthy, leaving: true } },
      'Pending',
      false,
      'HandedBack',
    ],
    [
      'running, agent draining: let it finish',
      { phase: 'Running', attempts: 1, assignment: assigned, startedAt: NOW - 1000, agent: { ...healthy, leaving: true } },
      'Running',
      false,
      undefined,
    ],
    [
      'running, heartbeat lost',
      { phase: 'Running', attempts: 1, assignment: assigned, startedAt: NOW - 1000, agent: { ...healthy, healthy: false } },
      'Pending',
      false,
      'HandedBack',
    ],
    [
      'running, claimed by the runner that heartbeats now',
      {
        phase: 'Running',
        attempts: 1,
        assignment: claimed('a_1'),
        startedAt: NOW - 1000,
        agent: { ...healthy, holder: 'a_1', workloadStartedAt: NOW - 60_000 },
      },
      'Running',
      false,
      undefined,
    ],
    [
      'running, claimed by an earlier runner process',
      { phase: 'Running', attempts: 1, assignment: claimed('a_1'), startedAt: NOW - 1000, agent: { ...healthy, holder: 'a_2' } },
      'Pending',
      false,
      'HandedBack',
    ],
    [
      'running, claimed by a runner that records no identity, workload restarted since',
      {
        phase: 'Running',
        attempts: 1,
        assignment: assigned,
        startedAt: NOW - 30_000,
        agent: { ...healthy, holder: 'a', workloadStartedAt: NOW - 5_000 },
      },
      'Pending',
      false,
      'HandedBack',
    ],
    [
      'running, workload restarted before the claim',
      {
        phase: 'Running',
        attempts: 1,
        assignment: claimed('a_2'),
        startedAt: NOW - 1000,
        agent: { ...healthy, holder: 'a_2', workloadStartedAt: NOW - 5_000 },
      },
      'Running',
      false,
      undefined,
    ],
    [
      'assigned, runner restarted: the new one claims it',
      { phase: 'Assigned', attempts: 1, assignment: assigned, agent: { ...healthy, holder: 'a_2', workloadStartedAt: NOW - 1_000 } },
      'Assigned',
      false,
      undefined,
    ],
    [
      'running, within its timeout',
      { phase: 'Running', attempts: 1, assignment: assigned, startedAt: NOW - 1000, agent: healthy },
      'Running',
      false,
      undefined,
    ],
    [
      'running past timeout and grace',
      { phase: 'Running', attempts: 1, assignment: assigned, startedAt: NOW - 100_000, agent: healthy },
      'Failed',
      false,
      undefined,
    ],
    [
      'failed attempt, retries left',
      { phase: 'Failed', attempts: 1, assignment: assigned, history: failed(1) },
      'Pending',
      false,
      'BackingOff',
    ],
    [
      'failed attempt, retries used up',
      { phase: 'Failed', attempts: 3, assignment: assigned, history: failed(3) },
      'Failed',
      false,
      'RetriesExhausted',
    ],
    ['failed for good', { phase: 'Failed', finished: true, history: failed(3), completedAt: NOW - 1 }, 'Failed', false, undefined],
    ['succeeded', { phase: 'Succeeded', attempts: 1, assignment: assigned }, 'Succeeded', false, 'Succeeded'],
    ['cancelled while pending', { cancel: true }, 'Cancelled', false, 'Cancelled'],
    [
      'cancelled while running',
      { phase: 'Running', cancel: true, attempts: 1, assignment: assigned, startedAt: NOW - 1000, agent: healthy },
      'Cancelled',
      false,
      'Cancelled',
    ],
    ['cancelled, already', { phase: 'Cancelled', cancel: true }, 'Cancelled', false, undefined],
  ] as [string, Partial<TaskObservation>, string, boolean, string | undefined][])(
    '%s',
    (_situation, overrides, phase, routable, reason) => {
      const d = decideTask(obs(overrides));
      expect([d.phase, d.routable, d.condition?.reason]).toEqual([phase, routable, reason]);
    },
  );
});

describe('decideTask details', () => {
  it('hands a task back with the attempt in history, and routes it again after the delay', () => {
    const d = decideTask(
      obs({ phase: 'Running', attempts: 1, assignment: assigned, startedAt: NOW - 1000, agent: { ...healthy, healthy: false } }),
    );
    expect(d.append).toEqual({ agent: 'a', outcome: 'Lost', reason: 'agent a lost its heartbeat', time: iso(NOW) });
    expect(d.set).toEqual({ assignment: null, retryAt: NOW + 5_000, queuedAt: NOW + 5_000 });
    expect(d.requeueAfterMs).toBe(5_000);
  });

  it('names the restart that lost an attempt', () => {
    const byRunner = decideTask(
      obs({ phase: 'Running', attempts: 1, assignment: claimed('a_1'), startedAt: NOW - 1000, agent: { ...healthy, holder: 'a_2' } }),
    );
    expect(byRunner.append?.reason).toBe(
      "the runner of agent a restarted: attempt 1 was claimed by a_1, the agent's Lease is now held by a_2",
    );
    const byWorkload = decideTask(
      obs({
        phase: 'Running',
        attempts: 1,
        assignment: assigned,
        startedAt: NOW - 30_000,
        agent: { ...healthy, workloadStartedAt: NOW - 5_000 },
      }),
    );
    expect(byWorkload.append?.reason).toBe(
      `the workload of agent a restarted at ${iso(NOW - 5_000)}, after attempt 1 started at ${iso(NOW - 30_000)}`,
    );
    expect(byWorkload.set).toEqual({ assignment: null, retryAt: NOW + 5_000, queuedAt: NOW + 5_000 });
  });

  it('retries with exponential backoff and gives up after retries.max failed attempts', () => {
    const first = decideTask(obs({ phase: 'Failed', attempts: 1, history: failed(1) }));
    expect(first.set.retryAt).toBe(NOW + 10_000);
    const second = decideTask(obs({ phase: 'Failed', attempts: 2, history: failed(2) }));
    expect(second.set.retryAt).toBe(NOW + 20_000);
    const last = decideTask(obs({ phase: 'Failed', attempts: 3, history: failed(3) }));
    expect(last.condition?.message).toBe('failed after 3 attempt(s); last: exit code 3');
    expect(last.set.completedAt).toBe(NOW);
  });

  it('does not count lost attempts against retries', () => {
    const history: HistoryEntry[] = [
      ...failed(2),
      { agent: 'b', outcome: 'Lost', time: iso(NOW) },
      { agent: 'b', outcome: 'Lost', time: iso(NOW) },
    ];
    expect(failedAttempts(history)).toBe(2);
    expect(decideTask(obs({ phase: 'Failed', attempts: 5, history: [...history, ...failed(1)] })).phase).toBe('Failed');
    expect(decideTask(obs({ phase: 'Failed', attempts: 4, history })).phase).toBe('Pending');
  });

  it('counts the attempts that fell out of the history as failed, so that retries.max beyond it ends', () => {
    // The history holds the last 32 attempts; the 8 before them are gone.
    const full = failed(HISTORY_MAX);
    expect(failedAttempts(full, 40)).toBe(40);
    const retry = decideTask(obs({ phase: 'Failed', attempts: 40, history: full, retries: { max: 50, backoffMs: 0 } }));
    expect(retry.phase).toBe('Pending');
    expect(retry.condition?.message).toMatch(/retry 40 of 50 at/);
    expect(decideTask(obs({ phase: 'Failed', attempts: 51, history: full, retries: { max: 50, backoffMs: 0 } })).phase).toBe('Failed');
  });

  it('ends a task whose every attempt fails after retries.max + 1 attempts, whatever retries.max (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), (max) => {
        let history: HistoryEntry[] = [];
        for (let attempts = 1; attempts <= 200; attempts++) {
          // What the runner writes as an attempt fails: the entry appended, the oldest dropped.
          history = [...history, ...failed(1)].slice(-HISTORY_MAX);
          const d = decideTask(obs({ phase: 'Failed', attempts, history, retries: { max, backoffMs: 0 } }));
          if (d.phase === 'Failed') return attempts === max + 1;
        }
        return false;
      }),
    );
  });

  it('fails a running attempt the runner did not finish, as a backstop', () => {
    const d = decideTask(obs({ phase: 'Running', attempts: 1, assignment: assigned, startedAt: NOW - 90_001, agent: healthy }));
    expect(d.append).toMatchObject({ outcome: 'TimedOut', reason: 'no result 60s after it started' });
    const before = decideTask(obs({ phase: 'Running', attempts: 1, assignment: assigned, startedAt: NOW - 80_000, agent: healthy }));
    expect(before.requeueAfterMs).toBe(10_000);
  });

  it('caps the backoff at an hour', () => {
    expect([1, 2, 3, 20].map((n) => retryDelayMs(10_000, n))).toEqual([10_000, 20_000, 40_000, 3_600_000]);
  });

  it('knows what is final', () => {
    expect([
      isTerminal('Succeeded', false),
      isTerminal('Cancelled', false),
      isTerminal('Failed', false),
      isTerminal('Failed', true),
      isTerminal('Running', false),
    ]).toEqual([true, true, false, true, false]);
  });
});

const historyArb = fc.array(
  fc.record({
    agent: fc.constantFrom('a', 'b'),
    outcome: fc.constantFrom('Succeeded', 'Failed', 'TimedOut', 'Lost', 'Cancelled'),
    time: fc.constant(iso(NOW - 5000)),
  }),
  { maxLength: 6 },
) as fc.Arbitrary<HistoryEntry[]>;

const observationArb: fc.Arbitrary<TaskObservation> = fc
  .record({
    phase: fc.constantFrom(undefined, 'Pending', 'Blocked', 'Assigned', 'Running', 'Succeeded', 'Failed', 'Cancelled'),
    cancel: fc.boolean(),
    attempts: fc.integer({ min: 0, max: 6 }),
    hasAssignment: fc.boolean(),
    startedAgo: fc.option(fc.integer({ min: 0, max: 200_000 }), { nil: undefined }),
    retryIn: fc.option(fc.integer({ min: -10_000, max: 10_000 }), { nil: undefined }),
    finished: fc.boolean(),
    history: historyArb,
    retriesMax: fc.integer({ min: 0, max: 3 }),
    dependencies: fc.constantFrom(
      { state: 'ready' as const },
      { state: 'waiting' as const, reason: 'DependenciesPending', message: 'waiting' },
      { state: 'failed' as const, reason: 'DependencyFailed', message: 'x failed' },
      { state: 'cycle' as const, reason: 'DependencyCycle', message: 'cycle' },
    ),
    agent: fc.option(fc.record({ exists: fc.boolean(), healthy: fc.boolean(), leaving: fc.boolean() }), { nil: undefined }),
  })
  .map((r) => ({
    now: NOW,
    phase: r.phase,
    cancel: r.cancel,
    attempts: r.attempts,
    assignment: r.hasAssignment ? { agent: 'a', attempt: Math.max(1, r.attempts), assignedAt: NOW - 1000 } : undefined,
    startedAt: r.startedAgo === undefined ? undefined : NOW - r.startedAgo,
    retryAt: r.retryIn === undefined ? undefined : NOW + r.retryIn,
    finished: r.finished,
    history: r.history,
    timeoutMs: 60_000,
    retries: { max: r.retriesMax, backoffMs: 1_000 },
    reassignDelayMs: 2_000,
    timeoutGraceMs: 10_000,
    dependencies: r.dependencies,
    agent: r.agent,
  }));

describe('decideTask invariants', () => {
  it('never hands back an attempt claimed by the runner that heartbeats now, after its workload started', () => {
    // Whatever the millisecond parts, an attempt claimed at or after the workload's start
    // by the current Lease holder is this life's: handing it back would run it twice.
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 600_000 }),
        fc.integer({ min: 0, max: 600_000 }),
        fc.option(fc.constantFrom('a_1', 'a_2'), { nil: undefined }),
        (workloadAgo, claimAfter, holder) => {
          const workloadStartedAt = NOW - workloadAgo;
          const startedAt = Math.min(NOW, workloadStartedAt + claimAfter);
          const d = decideTask(
            obs({
              phase: 'Running',
              attempts: 1,
              assignment: { ...assigned, claimedBy: holder ?? 'a_1' },
              startedAt,
              timeoutMs: 3_600_000,
              agent: { ...healthy, holder, workloadStartedAt },
            }),
          );
          expect(d.phase).toBe('Running');
          expect(d.append).toBeUndefined();
        },
      ),
    );
  });

  it('hands back every attempt claimed before the workload restarted, or by another runner process', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 600_000 }), fc.boolean(), (gap, byHolder) => {
        const startedAt = NOW - 700_000;
        const agent = byHolder ? { ...healthy, holder: 'a_2' } : { ...healthy, workloadStartedAt: startedAt + gap };
        const d = decideTask(obs({ phase: 'Running', attempts: 1, assignment: claimed('a_1'), startedAt, timeoutMs: 3_600_000, agent }));
        expect([d.phase, d.append?.outcome, d.set.assignment]).toEqual(['Pending', 'Lost', null]);
      }),
    );
  });

  it('never leaves a finished task, and never routes one that is blocked, cancelled or backing off', () => {
    fc.assert(
      fc.property(observationArb, (o) => {
        const d = decideTask(o);
        if (o.phase === 'Succeeded' || o.phase === 'Cancelled' || (o.phase === 'Failed' && o.finished)) expect(d.phase).toBe(o.phase);
        if (d.routable) {
          expect(d.phase).toBe('Pending');
          expect(o.cancel).toBe(false);
          expect(o.dependencies.state).toBe('ready');
          if (o.retryAt !== undefined) expect(o.retryAt).toBeLessThanOrEqual(o.now);
        }
        if (d.requeueAfterMs !== undefined) expect(d.requeueAfterMs).toBeGreaterThan(0);
      }),
    );
  });

  it('records every attempt that ends here, and takes the assignment away when the task leaves its agent', () => {
    fc.assert(
      fc.property(observationArb, (o) => {
        const d = decideTask(o);
        if (d.append) expect(o.assignment).toBeDefined();
        if (d.phase === 'Pending' && o.assignment && (o.phase === 'Assigned' || o.phase === 'Running' || o.phase === 'Failed')) {
          expect(d.set.assignment).toBeNull();
        }
      }),
    );
  });

  it('is idempotent once settled: deciding again on its own result changes nothing', () => {
    fc.assert(
      fc.property(observationArb, (o) => {
        const d = decideTask(o);
        const after: TaskObservation = {
          ...o,
          phase: d.phase,
          finished: o.finished || d.condition?.type === 'Finished',
          history: d.append ? [...o.history, d.append] : o.history,
          assignment: d.set.assignment === null ? undefined : o.assignment,
          retryAt: d.set.retryAt === null ? undefined : (d.set.retryAt ?? o.retryAt),
          completedAt: d.set.completedAt ?? o.completedAt,
        };
        const again = decideTask(after);
        if (again.phase === d.phase && d.phase !== 'Failed') expect(again.set.completedAt).toBeUndefined();
        if (d.condition?.type === 'Finished') expect([again.phase, again.append]).toEqual([d.phase, undefined]);
      }),
    );
  });
});

describe('stillDecidable', () => {
  const running = (attempt: number, claimedBy?: string | null): DecidedOn => ({
    phase: 'Running',
    assignment: { agent: 'a', attempt, claimedBy },
  });
  it.each([
    // case, decided on, fresh, still applies
    ['nothing changed that matters', running(1, 'p1'), running(1, 'p1'), true],
    [
      'a claim written as null and a claim left out are the same',
      { phase: 'Assigned', assignment: { agent: 'a', attempt: 2, claimedBy: null } },
      { phase: 'Assigned', assignment: { agent: 'a', attempt: 2 } },
      true,
    ],
    ['no assignment either side', { phase: 'Pending' }, { phase: 'Pending' }, true],
    ['the phase moved on', running(1, 'p1'), { phase: 'Succeeded', assignment: { agent: 'a', attempt: 1, claimedBy: 'p1' } }, false],
    ['handed back, reassigned and claimed again: Running, but another attempt', running(1, 'p1'), running(2, 'p2'), false],
    ['the same attempt claimed by another process', running(1, 'p1'), running(1, 'p2'), false],
    [
      'assigned to another agent',
      { phase: 'Assigned', assignment: { agent: 'a', attempt: 2 } },
      { phase: 'Assigned', assignment: { agent: 'b', attempt: 2 } },
      false,
    ],
    ['the assignment went away', running(1, 'p1'), { phase: 'Running' }, false],
  ] as [string, DecidedOn, DecidedOn, boolean][])('%s', (_case, decided, fresh, applies) => {
    expect(stillDecidable(decided, fresh)).toBe(applies);
  });

  it('holds for any copy and itself, and fails whenever the attempt differs (property)', () => {
    const copy = fc.record({
      phase: fc.constantFrom('Pending', 'Assigned', 'Running', 'Succeeded'),
      assignment: fc.option(
        fc.record({
          agent: fc.constantFrom('a', 'b'),
          attempt: fc.integer({ min: 1, max: 4 }),
          claimedBy: fc.option(fc.constantFrom('p1', 'p2'), { nil: undefined }),
        }),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(copy, copy, (x, y) => {
        expect(stillDecidable(x, x)).toBe(true);
        if (x.assignment?.attempt !== y.assignment?.attempt) expect(stillDecidable(x, y)).toBe(false);
        expect(stillDecidable(x, y)).toBe(stillDecidable(y, x));
      }),
    );
  });
});
