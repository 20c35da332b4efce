import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideCircuit, type CircuitDecision, type CircuitObservation } from './decide.ts';

const NOW = 1_000_000_000_000;
const COOLDOWN = 60_000;
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

function obs(overrides: Partial<CircuitObservation> = {}): CircuitObservation {
  return { now: NOW, consecutiveFailures: 0, failureThreshold: 3, cooldownMs: COOLDOWN, ...overrides };
}

// The CircuitOpen condition as the controller would have written it, per state.
const none = undefined;
const closed = { open: false, since: NOW - 3_600_000 };
const open = { open: true, since: NOW - 10_000 };
const halfOpen = { open: true, since: NOW - 120_000 };

// Signals: what the runner reported since the last look.
const success = { consecutiveFailures: 0 };
const belowThreshold = { consecutiveFailures: 1, lastFailureAt: NOW - 1_000 };
const reachesThreshold = { consecutiveFailures: 3, lastFailureAt: NOW - 1_000 };
const reachedLongAgo = { consecutiveFailures: 3, lastFailureAt: NOW - 600_000 };

describe('decideCircuit: every state under every signal', () => {
  it.each([
    // situation, previous condition, signal, state, reason, since, requeueAfterMs
    ['no condition yet, no failures', none, success, 'closed', 'CircuitClosed', NOW, undefined],
    ['no condition yet, failures below the threshold', none, belowThreshold, 'closed', 'CircuitClosed', NOW, undefined],
    ['no condition yet, threshold reached', none, reachesThreshold, 'open', 'TooManyFailures', NOW - 1_000, 59_000],
    ['no condition yet, threshold reached before the cooldown', none, reachedLongAgo, 'half-open', 'HalfOpen', NOW - 600_000, undefined],
    ['closed, success', closed, success, 'closed', 'CircuitClosed', closed.since, undefined],
    ['closed, failure below the threshold', closed, belowThreshold, 'closed', 'CircuitClosed', closed.since, undefined],
    ['closed, threshold reached', closed, reachesThreshold, 'open', 'TooManyFailures', NOW - 1_000, 59_000],
    ['closed, threshold reached while the operator was away', closed, reachedLongAgo, 'half-open', 'HalfOpen', NOW - 600_000, undefined],
    ['open, cooldown running', open, { consecutiveFailures: 3, lastFailureAt: open.since }, 'open', 'TooManyFailures', open.since, 50_000],
    [
      'open, an in-flight task fails during the cooldown',
      open,
      { consecutiveFailures: 4, lastFailureAt: NOW - 5_000 },
      'open',
      'TooManyFailures',
      open.since,
      50_000,
    ],
    ['open, an in-flight task succeeds', open, success, 'closed', 'CircuitClosed', NOW, undefined],
    [
      'open, the policy raised the threshold above the count',
      open,
      { consecutiveFailures: 3, failureThreshold: 5 },
      'closed',
      'CircuitClosed',
      NOW,
      undefined,
    ],
    [
      'open, exactly at the half-open instant',
      { open: true, since: NOW - COOLDOWN },
      reachesThreshold,
      'half-open',
      'HalfOpen',
      NOW - COOLDOWN,
      undefined,
    ],
    [
      'half-open, trial running',
      halfOpen,
      { consecutiveFailures: 3, lastFailureAt: halfOpen.since },
      'half-open',
      'HalfOpen',
      halfOpen.since,
      undefined,
    ],
    [
      'half-open, a failure from before the half-open instant',
      halfOpen,
      { consecutiveFailures: 4, lastFailureAt: NOW - 70_000 },
      'half-open',
      'HalfOpen',
      halfOpen.since,
      undefined,
    ],
    [
      'half-open, trial failed',
      halfOpen,
      { consecutiveFailures: 4, lastFailureAt: NOW - 1_000 },
      'open',
      'TooManyFailures',
      NOW - 1_000,
      59_000,
    ],
    ['half-open, trial succeeded', halfOpen, success, 'closed', 'CircuitClosed', NOW, undefined],
  ] as [string, CircuitObservation['previous'], Partial<CircuitObservation>, string, string, number, number | undefined][])(
    '%s',
    (_situation, previous, signal, state, reason, since, requeueAfterMs) => {
      const d = decideCircuit(obs({ previous, ...signal }));
      expect([d.state, d.condition.status, d.condition.reason, d.since, d.requeueAfterMs]).toEqual([
        state,
        state === 'closed' ? 'False' : 'True',
        reason,
        since,
        requeueAfterMs,
      ]);
    },
  );
});

describe('decideCircuit details', () => {
  it('names the count, the threshold and the half-open instant', () => {
    const d = decideCircuit(obs({ previous: closed, consecutiveFailures: 4, lastFailureAt: NOW - 1_000 }));
    expect(d.condition.message).toBe(
      `4 consecutive failures reached the threshold of 3: no tasks until ${iso(NOW + 59_000)}, then one trial task`,
    );
    expect(decideCircuit(obs({ previous: halfOpen, consecutiveFailures: 3 })).condition.message).toBe(
      `cooldown ended at ${iso(halfOpen.since + COOLDOWN)}: one trial task is let through; a success closes the circuit, a failure opens it again`,
    );
  });

  it('opens at now when the failure instant is unknown, and never in the future', () => {
    expect(decideCircuit(obs({ consecutiveFailures: 3 })).since).toBe(NOW);
    expect(decideCircuit(obs({ consecutiveFailures: 3, lastFailureAt: NOW + 5_000 })).since).toBe(NOW);
  });

  it('walks a failing agent through open, half-open, a failed trial and a successful one', () => {
    let previous: CircuitObservation['previous'];
    const step = (now: number, consecutiveFailures: number, lastFailureAt?: number): CircuitDecision => {
      const d = decideCircuit(obs({ now, consecutiveFailures, previous, ...(lastFailureAt === undefined ? {} : { lastFailureAt }) }));
      previous = { open: d.condition.status === 'True', since: d.since };
      return d;
    };
    expect(step(NOW, 2, NOW - 100).state).toBe('closed');
    expect(step(NOW + 1_000, 3, NOW + 500)).toMatchObject({ state: 'open', since: NOW + 500, requeueAfterMs: 59_500 });
    expect(step(NOW + 60_500, 3, NOW + 500).state).toBe('half-open');
    expect(step(NOW + 70_000, 4, NOW + 69_000)).toMatchObject({ state: 'open', since: NOW + 69_000, requeueAfterMs: 59_000 });
    expect(step(NOW + 130_000, 4, NOW + 69_000)).toMatchObject({ state: 'half-open', since: NOW + 69_000 });
    expect(step(NOW + 140_000, 0, NOW + 69_000)).toMatchObject({ state: 'closed', since: NOW + 140_000 });
  });
});

// Inputs as the controller sees them: a previous condition dated no later than now, and a
// failure instant whenever there are failures (the runner records both together).
const observation = fc
  .record({
    now: fc.integer({ min: NOW, max: NOW + 1e9 }),
    consecutiveFailures: fc.nat(20),
    failureThreshold: fc.integer({ min: 1, max: 10 }),
    cooldownMs: fc.integer({ min: 1_000, max: 86_400_000 }),
    previous: fc.option(fc.record({ open: fc.boolean(), ago: fc.nat(2e8) }), { nil: undefined }),
    failureAgo: fc.nat(2e8),
  })
  .map(({ previous, failureAgo, ...o }): CircuitObservation => ({
    ...o,
    previous: previous && { open: previous.open, since: o.now - previous.ago },
    ...(o.consecutiveFailures > 0 ? { lastFailureAt: o.now - failureAgo } : {}),
  }));

describe('decideCircuit properties', () => {
  it('is closed iff the failures are below the threshold, and the condition says so', () => {
    fc.assert(
      fc.property(observation, (o) => {
        const d = decideCircuit(o);
        expect(d.state === 'closed').toBe(o.consecutiveFailures < o.failureThreshold);
        expect(d.condition.status).toBe(d.state === 'closed' ? 'False' : 'True');
      }),
    );
  });

  it('moves `since` only when the status flips or the trial failed', () => {
    fc.assert(
      fc.property(observation, (o) => {
        const d = decideCircuit(o);
        if (!o.previous || o.previous.open !== (d.condition.status === 'True') || d.since === o.previous.since) return;
        expect(o.previous.open).toBe(true);
        expect(o.lastFailureAt).toBeGreaterThan(o.previous.since + o.cooldownMs);
        expect(d.since).toBeGreaterThan(o.previous.since);
      }),
    );
  });

  it('asks to be looked at again only while open, and only in the future', () => {
    fc.assert(
      fc.property(observation, (o) => {
        const d = decideCircuit(o);
        expect(d.requeueAfterMs !== undefined).toBe(d.state === 'open');
        if (d.requeueAfterMs !== undefined) expect(d.requeueAfterMs).toBeGreaterThan(0);
      }),
    );
  });

  it('keeps the message at a later now unless the state changes', () => {
    fc.assert(
      fc.property(observation, fc.integer({ min: 1, max: 1e9 }), (o, later) => {
        const a = decideCircuit(o);
        const b = decideCircuit({ ...o, now: o.now + later });
        if (a.state === b.state) expect(b.condition).toEqual(a.condition);
      }),
    );
  });

  it('decides the same again once its own condition is written back', () => {
    fc.assert(
      fc.property(observation, (o) => {
        const d = decideCircuit(o);
        const again = decideCircuit({ ...o, previous: { open: d.condition.status === 'True', since: d.since } });
        expect(again).toEqual(d);
      }),
    );
  });
});
