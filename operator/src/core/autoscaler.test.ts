import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  awakeBounds,
  decideScale,
  type AwakeBounds,
  type PoolLoad,
  type PoolScaling,
  type Recommendation,
  type ScaleDecision,
  type ScaleLimit,
} from './autoscaler.ts';

const NOW = 2_000_000_000_000;
const S = 1000;

function pool(overrides: Partial<PoolScaling> = {}): PoolScaling {
  return {
    minAgents: 0,
    maxAgents: 20,
    targetPendingPerAgent: 1,
    scaleUp: { stabilizationSeconds: 0, maxStep: 4 },
    scaleDown: { stabilizationSeconds: 300 },
    scaleToZero: false,
    maxConcurrentTasks: 1,
    ...overrides,
  };
}

const up = (stabilizationSeconds: number, maxStep = 4): Partial<PoolScaling> => ({ scaleUp: { stabilizationSeconds, maxStep } });
const down = (stabilizationSeconds: number): Partial<PoolScaling> => ({ scaleDown: { stabilizationSeconds } });
const ago = (seconds: number, agents: number): Recommendation => ({ at: NOW - seconds * S, agents });
const floorOf = (p: PoolScaling): number => (p.scaleToZero ? 0 : Math.max(p.minAgents, 1));

describe('decideScale: every rule, limit and reason', () => {
  it.each([
    // situation, pool, [pending, active, current], history, desired, limitedBy, reason
    [
      'a need beyond maxAgents',
      {},
      [200, 20, 20],
      [],
      20,
      'maxAgents',
      'at maxAgents 20: 200 pending and 20 running tasks want 220 agents; raise maxAgents to run more at once',
    ],
    [
      'lowering maxAgents below the pool scales it down at once',
      {},
      [30, 0, 25],
      [ago(100, 25)],
      20,
      'maxAgents',
      'scaling down 25 → 20 (maxAgents 20): 30 pending and 0 running tasks want 30 agents; raise maxAgents to run more at once',
    ],
    [
      'a big need grows by maxStep',
      {},
      [12, 4, 4],
      [],
      8,
      'maxStep',
      'scaling up 4 → 8 (scaleUp.maxStep 4): 12 pending and 4 running tasks want 16 agents',
    ],
    ['a pool at zero wakes for one task', { scaleToZero: true }, [1, 0, 0], [], 1, undefined, 'waking from zero: 1 pending task'],
    [
      'a pool at zero wakes for several tasks',
      { scaleToZero: true },
      [3, 0, 0],
      [ago(10, 0)],
      3,
      undefined,
      'waking from zero to 3 agents: 3 pending tasks',
    ],
    [
      'waking ignores the scale-up window',
      { scaleToZero: true, ...up(60) },
      [1, 0, 0],
      [ago(30, 0)],
      1,
      undefined,
      'waking from zero: 1 pending task',
    ],
    [
      'waking gives one agent while a bigger need proves itself',
      { scaleToZero: true, ...up(60) },
      [5, 0, 0],
      [ago(30, 0)],
      1,
      'upStabilization',
      'waking from zero to 1 agent, waiting for scale-up stabilization: 5 agents wanted, but the lowest need in the last 60s was 0',
    ],
    [
      'a need that has not held for the scale-up window waits',
      up(60),
      [9, 0, 4],
      [ago(50, 4), ago(10, 9)],
      4,
      'upStabilization',
      'waiting for scale-up stabilization: 9 agents wanted, but the lowest need in the last 60s was 4',
    ],
    [
      'an earlier need holds the pool above the lowest of the scale-up window',
      up(60),
      [9, 0, 6],
      [ago(50, 4), ago(10, 9)],
      6,
      'upStabilization',
      'waiting for scale-up stabilization: 9 agents wanted, but the lowest need in the last 60s was 4; holding 6',
    ],
    [
      'scales up to the lowest need of the scale-up window',
      up(60),
      [9, 0, 2],
      [ago(50, 4), ago(10, 9)],
      4,
      'upStabilization',
      'scaling up 2 → 4, waiting for scale-up stabilization: 9 agents wanted, but the lowest need in the last 60s was 4',
    ],
    [
      'a need that held for the whole scale-up window scales up',
      up(60, 10),
      [9, 0, 4],
      [ago(60, 1), ago(59, 9)],
      9,
      undefined,
      'scaling up 4 → 9: 9 pending and 0 running tasks want 9 agents',
    ],
    [
      'a dip holds for the scale-down window',
      {},
      [0, 2, 8],
      [ago(200, 8)],
      8,
      'downStabilization',
      'holding 8 for scale-down stabilization: the highest need in the last 300s was 8; now 2',
    ],
    [
      'scales down only to the highest need of the scale-down window',
      {},
      [0, 2, 10],
      [ago(400, 10), ago(200, 8)],
      8,
      'downStabilization',
      'scaling down 10 → 8 only, for scale-down stabilization: the highest need in the last 300s was 8; now 2',
    ],
    [
      'scales down once the scale-down window has passed',
      {},
      [0, 2, 8],
      [ago(300, 8), ago(100, 2)],
      2,
      undefined,
      'scaling down 8 → 2: 0 pending and 2 running tasks want 2 agents',
    ],
    [
      'a restart does not scale down',
      {},
      [0, 2, 8],
      [],
      8,
      'downStabilization',
      'holding 8 for scale-down stabilization: the highest need in the last 300s was 8; now 2',
    ],
    [
      'a restart does not scale up within the scale-up window',
      up(60),
      [9, 0, 2],
      [],
      2,
      'upStabilization',
      'waiting for scale-up stabilization: 9 agents wanted, but the lowest need in the last 60s was 2',
    ],
    [
      'a restart with no windows acts at once',
      { ...up(0), ...down(0) },
      [0, 2, 8],
      [],
      2,
      undefined,
      'scaling down 8 → 2: 0 pending and 2 running tasks want 2 agents',
    ],
    [
      'waiting work keeps the pool from shrinking',
      down(0),
      [3, 0, 5],
      [],
      5,
      'pendingWork',
      'holding 5: 3 pending tasks still need the capacity',
    ],
    ['one waiting task keeps it too', down(0), [1, 0, 5], [], 5, 'pendingWork', 'holding 5: 1 pending task still needs the capacity'],
    ['an idle pool scales to zero', { scaleToZero: true, ...down(0) }, [0, 0, 3], [], 0, undefined, 'idle: scaling to zero'],
    ['an idle pool at zero stays there', { scaleToZero: true }, [0, 0, 0], [], 0, undefined, 'idle at zero: a pending task wakes the pool'],
    [
      'an idle pool keeps minAgents',
      { minAgents: 2 },
      [0, 0, 2],
      [ago(100, 2)],
      2,
      'minAgents',
      'at minAgents 2: 0 pending and 0 running tasks',
    ],
    [
      'without scaleToZero one agent stays',
      {},
      [0, 0, 1],
      [ago(100, 1)],
      1,
      'minAgents',
      'keeping 1 agent as scaleToZero is off: 0 pending and 0 running tasks',
    ],
    [
      'without scaleToZero a new pool starts one agent',
      {},
      [0, 0, 0],
      [],
      1,
      'minAgents',
      'scaling up 0 → 1 (scaleToZero is off): 0 pending and 0 running tasks',
    ],
    [
      'raising minAgents scales up at once, past maxStep',
      { minAgents: 5, ...up(0, 1) },
      [0, 0, 2],
      [ago(100, 2)],
      5,
      'minAgents',
      'scaling up 2 → 5 (minAgents 5): 0 pending and 0 running tasks',
    ],
    ['steady', {}, [0, 3, 3], [ago(100, 3)], 3, undefined, 'steady at 3: 0 pending and 3 running tasks'],
    ['steady with one task', {}, [0, 1, 1], [ago(100, 1)], 1, undefined, 'steady at 1: 0 pending and 1 running task'],
    [
      'running tasks count at full concurrency, pending ones per target',
      { maxConcurrentTasks: 3, targetPendingPerAgent: 2 },
      [3, 4, 1],
      [],
      3,
      undefined,
      'scaling up 1 → 3: 3 pending and 4 running tasks want 3 agents',
    ],
    [
      'a need that comes out whole is not rounded up',
      { maxConcurrentTasks: 4, targetPendingPerAgent: 2 },
      [2, 4, 1],
      [],
      2,
      undefined,
      'scaling up 1 → 2: 2 pending and 4 running tasks want 2 agents',
    ],
  ] as [string, Partial<PoolScaling>, [number, number, number], Recommendation[], number, ScaleLimit | undefined, string][])(
    '%s',
    (_situation, overrides, [pending, active, current], history, desired, limitedBy, reason) => {
      const d = decideScale(pool(overrides), { pending, active, current }, history, NOW);
      expect([d.desired, d.limitedBy, d.reason]).toEqual([desired, limitedBy, reason]);
    },
  );
});

describe('decideScale details', () => {
  it('returns the history pruned to the longer window, with this look last', () => {
    const d = decideScale(
      pool({ ...up(60), ...down(120) }),
      { pending: 0, active: 3, current: 3 },
      [ago(200, 5), ago(120, 6), ago(119, 7), ago(10, 8)],
      NOW,
    );
    expect(d.history).toEqual([ago(119, 7), ago(10, 8), { at: NOW, agents: 3 }]);
  });

  it('seeds an empty history with the current size within the bounds, and only keeps the seed if a window needs it', () => {
    const load = { pending: 0, active: 2, current: 30 };
    expect(decideScale(pool(), load, [], NOW).history).toEqual([
      { at: NOW, agents: 20 },
      { at: NOW, agents: 2 },
    ]);
    expect(decideScale(pool(down(0)), load, [], NOW).history).toEqual([{ at: NOW, agents: 2 }]);
  });

  it('does not seed a history that has aged out: a pool looked at rarely still scales down', () => {
    const d = decideScale(pool(), { pending: 0, active: 2, current: 8 }, [ago(900, 8)], NOW);
    expect([d.desired, d.history]).toEqual([2, [{ at: NOW, agents: 2 }]]);
  });

  it('drops recommendations dated after now, as after the clock went back', () => {
    const d = decideScale(pool(), { pending: 0, active: 2, current: 8 }, [{ at: NOW + 60 * S, agents: 8 }], NOW);
    expect([d.desired, d.history]).toEqual([2, [{ at: NOW, agents: 2 }]]);
  });

  it('counts a look made in the same millisecond as an earlier one only in windows longer than 0 s', () => {
    const same = [{ at: NOW, agents: 1 }];
    expect(decideScale(pool(up(0)), { pending: 6, active: 0, current: 1 }, same, NOW).desired).toBe(5);
    expect(decideScale(pool(up(60)), { pending: 6, active: 0, current: 1 }, same, NOW).desired).toBe(1);
  });

  it('reads past recommendations against the bounds of today', () => {
    // Recommended when maxAgents was 30: the down window now holds 20, not 30.
    const d = decideScale(pool(), { pending: 0, active: 2, current: 20 }, [ago(100, 30)], NOW);
    expect([d.desired, d.limitedBy, d.reason]).toEqual([
      20,
      'downStabilization',
      'holding 20 for scale-down stabilization: the highest need in the last 300s was 20; now 2',
    ]);
  });

  it('walks a burst: wakes, grows by steps, rides out the dips, then sleeps after the scale-down window', () => {
    const p = pool({ scaleToZero: true, ...up(0, 4), ...down(120) });
    let history: Recommendation[] = [];
    let current = 0;
    const look = (seconds: number, pending: number, active: number): ScaleDecision => {
      const d = decideScale(p, { pending, active, current }, history, NOW + seconds * S);
      history = d.history;
      current = d.desired;
      return d;
    };
    expect(look(0, 10, 0)).toMatchObject({ desired: 4, limitedBy: 'maxStep' });
    expect(look(10, 6, 4)).toMatchObject({ desired: 8, limitedBy: 'maxStep' });
    expect(look(20, 2, 8)).toMatchObject({ desired: 10 });
    expect(look(30, 0, 3)).toMatchObject({ desired: 10, limitedBy: 'downStabilization' });
    expect(look(40, 4, 0)).toMatchObject({ desired: 10, limitedBy: 'downStabilization' });
    expect(look(100, 0, 0)).toMatchObject({ desired: 10, limitedBy: 'downStabilization' });
    // The highest need left in the window is the 4 of 40 s.
    expect(look(140, 0, 0)).toMatchObject({ desired: 4, limitedBy: 'downStabilization' });
    expect(look(160, 0, 0)).toMatchObject({ desired: 0, reason: 'idle: scaling to zero' });
    expect(look(170, 1, 0)).toMatchObject({ desired: 1, reason: 'waking from zero: 1 pending task' });
  });

  it('does not change the history it is given', () => {
    const history = Object.freeze([Object.freeze(ago(100, 5)), Object.freeze(ago(10, 6))]);
    const d = decideScale(pool(), { pending: 1, active: 5, current: 6 }, history, NOW);
    expect(history).toEqual([ago(100, 5), ago(10, 6)]);
    expect(d.history).not.toBe(history);
  });
});

// Pools the CRD accepts, kept small enough that the bounds are reached.
const poolArb: fc.Arbitrary<PoolScaling> = fc
  .record({
    maxAgents: fc.integer({ min: 1, max: 50 }),
    minAgents: fc.nat(50),
    scaleToZero: fc.boolean(),
    up: fc.integer({ min: 0, max: 600 }),
    down: fc.integer({ min: 0, max: 600 }),
    maxStep: fc.integer({ min: 1, max: 10 }),
    maxConcurrentTasks: fc.integer({ min: 1, max: 8 }),
    targetPendingPerAgent: fc.integer({ min: 1, max: 5 }),
  })
  .map((r) => ({
    minAgents: r.scaleToZero ? 0 : r.minAgents % (r.maxAgents + 1),
    maxAgents: r.maxAgents,
    targetPendingPerAgent: r.targetPendingPerAgent,
    scaleUp: { stabilizationSeconds: r.up, maxStep: r.maxStep },
    scaleDown: { stabilizationSeconds: r.down },
    scaleToZero: r.scaleToZero,
    maxConcurrentTasks: r.maxConcurrentTasks,
  }));

/** A look: so long after the previous one, this load, and now and then an operator restart. */
interface Look {
  dt: number;
  pending: number;
  active: number;
  restart: boolean;
}

const lookArb: fc.Arbitrary<Look> = fc.record({
  dt: fc.integer({ min: 1, max: 120 * S }),
  pending: fc.oneof(fc.constant(0), fc.nat(120)),
  active: fc.oneof(fc.constant(0), fc.nat(60)),
  restart: fc.nat(19).map((n) => n === 0),
});

interface Step {
  now: number;
  load: PoolLoad;
  given: readonly Recommendation[];
  d: ScaleDecision;
  /** When the looks since the last restart were made, this one included. */
  looks: number[];
}

/** The controller: applies each decision at once and feeds the history back, frozen to catch writes. */
function simulate(p: PoolScaling, start: number, looks: readonly Look[]): Step[] {
  const steps: Step[] = [];
  let now = NOW;
  let current = start;
  let history: readonly Recommendation[] = [];
  let since: number[] = [];
  for (const l of looks) {
    now += l.dt;
    if (l.restart) {
      history = [];
      since = [];
    }
    since = [...since, now];
    const given = Object.freeze(history.map((r) => Object.freeze({ ...r })));
    const load = { pending: l.pending, active: l.active, current };
    const d = decideScale(p, load, given, now);
    steps.push({ now, load, given, d, looks: since });
    history = d.history;
    current = d.desired;
  }
  return steps;
}

const runArb = fc.record({ pool: poolArb, start: fc.nat(60), looks: fc.array(lookArb, { minLength: 1, maxLength: 40 }) });
const calmRunArb = fc.record({
  pool: poolArb,
  start: fc.nat(60),
  looks: fc.array(
    lookArb.map((l) => ({ ...l, restart: false })),
    { minLength: 1, maxLength: 40 },
  ),
});

describe('decideScale properties', () => {
  it('(a) stays within [floor, maxAgents], and so does the recommendation', () => {
    fc.assert(
      fc.property(runArb, ({ pool: p, start, looks }) => {
        for (const { d } of simulate(p, start, looks)) {
          expect(d.desired).toBeGreaterThanOrEqual(floorOf(p));
          expect(d.desired).toBeLessThanOrEqual(p.maxAgents);
          expect(d.recommendation).toBeGreaterThanOrEqual(floorOf(p));
          expect(d.recommendation).toBeLessThanOrEqual(p.maxAgents);
          expect(Number.isInteger(d.desired)).toBe(true);
        }
      }),
    );
  });

  it('(b) never shrinks while tasks wait, and never leaves them without an agent', () => {
    fc.assert(
      fc.property(runArb, ({ pool: p, start, looks }) => {
        for (const { load, d } of simulate(p, start, looks)) {
          if (load.pending === 0) continue;
          expect(d.desired).toBeGreaterThanOrEqual(Math.min(load.current, p.maxAgents));
          expect(d.desired).toBeGreaterThanOrEqual(1);
        }
      }),
    );
  });

  it('(c) grows by at most maxStep, unless the floor asks for more', () => {
    fc.assert(
      fc.property(runArb, ({ pool: p, start, looks }) => {
        for (const { load, d } of simulate(p, start, looks)) {
          expect(d.desired).toBeLessThanOrEqual(Math.max(load.current + p.scaleUp.maxStep, floorOf(p)));
        }
      }),
    );
  });

  it('(d) wakes a pool at zero on the first look that sees a pending task, whatever its history', () => {
    const historyArb = fc.array(
      fc.record({ ago: fc.nat(1200 * S), agents: fc.nat(50) }).map((r) => ({ at: NOW - r.ago, agents: r.agents })),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(poolArb, fc.integer({ min: 1, max: 100 }), fc.nat(60), historyArb, (p, pending, active, history) => {
        expect(decideScale(p, { pending, active, current: 0 }, [], NOW).desired).toBeGreaterThanOrEqual(1);
        expect(decideScale(p, { pending, active, current: 0 }, history, NOW).desired).toBeGreaterThanOrEqual(1);
      }),
    );
  });

  it('(e) never shrinks below the highest recommendation of the scale-down window', () => {
    fc.assert(
      fc.property(calmRunArb, ({ pool: p, start, looks }) => {
        const steps = simulate(p, start, looks);
        const downMs = p.scaleDown.stabilizationSeconds * S;
        // What the pool was recommended, as seen from outside: the seed, then each look.
        const seen: Recommendation[] = [{ at: steps[0]?.now ?? NOW, agents: Math.min(Math.max(start, floorOf(p)), p.maxAgents) }];
        for (const { now, load, d } of steps) {
          const highest = Math.max(d.recommendation, ...seen.filter((r) => r.at > now - downMs).map((r) => r.agents));
          expect(d.desired).toBeGreaterThanOrEqual(Math.min(load.current, highest));
          seen.push({ at: now, agents: d.recommendation });
        }
      }),
    );
  });

  it('(e) does not flap down under a load that comes back within the scale-down window', () => {
    const oscillation = fc
      .record({
        pool: poolArb,
        phaseSeconds: fc.integer({ min: 1, max: 60 }),
        lookEvery: fc.integer({ min: 1, max: 60 }),
        slack: fc.nat(400),
        pending: fc.integer({ min: 1, max: 120 }),
        active: fc.nat(60),
        startHigh: fc.boolean(),
        start: fc.nat(50),
        gaps: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 10, maxLength: 80 }),
      })
      .map((r) => {
        // Looks come at most `every` seconds apart and every phase lasts at least that long,
        // so every high phase is seen, and two high looks are less than phase + 2 × every apart.
        const every = Math.min(r.lookEvery, r.phaseSeconds);
        const window = r.phaseSeconds + 2 * every + r.slack;
        return { ...r, every, pool: { ...r.pool, scaleDown: { stabilizationSeconds: window } } };
      });
    fc.assert(
      fc.property(oscillation, ({ pool: p, phaseSeconds, every, pending, active, startHigh, start, gaps }) => {
        const high = decideScale(p, { pending, active, current: 0 }, [], NOW).recommendation;
        let elapsed = 0;
        const looks = gaps.map((g): Look => {
          const dt = Math.max(1, Math.round(g * every * S));
          elapsed += dt;
          const isHigh = Math.floor(elapsed / (phaseSeconds * S)) % 2 === (startHigh ? 0 : 1);
          return { dt, pending: isHigh ? pending : 0, active: isHigh ? active : 0, restart: false };
        });
        // Starting no bigger than the high need, the pool can only grow.
        for (const { load, d } of simulate(p, start % (high + 1), looks)) {
          expect(d.desired).toBeGreaterThanOrEqual(load.current);
          expect(d.desired).toBeLessThanOrEqual(high);
        }
      }),
    );
  });

  it('(f) with no load for longer than the scale-down window, goes down to its floor: zero with scaleToZero', () => {
    fc.assert(
      fc.property(calmRunArb, fc.integer({ min: S, max: 60 * S }), ({ pool: p, start, looks }, quietEvery) => {
        // The last quiet look comes a whole window after the last loaded one.
        const n = Math.max(1, Math.ceil((p.scaleDown.stabilizationSeconds * S) / quietEvery));
        const quiet = Array.from({ length: n }, (): Look => ({ dt: quietEvery, pending: 0, active: 0, restart: false }));
        const last = simulate(p, start, [...looks, ...quiet]).at(-1);
        expect(last?.d.desired).toBe(p.scaleToZero ? 0 : Math.max(p.minAgents, 1));
      }),
    );
  });

  it('(g) keeps exactly the looks of the longer window, the seed while it is in it, and this look', () => {
    fc.assert(
      fc.property(runArb, ({ pool: p, start, looks }) => {
        const keepMs = Math.max(p.scaleUp.stabilizationSeconds, p.scaleDown.stabilizationSeconds) * S;
        for (const { now, looks: since, d } of simulate(p, start, looks)) {
          const earlier = since.slice(0, -1).filter((t) => t > now - keepMs).length;
          const seed = keepMs > 0 && (since[0] ?? now) > now - keepMs ? 1 : 0;
          expect(d.history).toHaveLength(earlier + seed + 1);
          expect(d.history.at(-1)).toEqual({ at: now, agents: d.recommendation });
          for (const r of d.history.slice(0, -1)) expect(r.at).toBeGreaterThan(now - keepMs);
        }
      }),
    );
  });

  it('recommends the exact ceiling of the need, within the bounds', () => {
    fc.assert(
      fc.property(poolArb, fc.nat(10_000), fc.nat(10_000), fc.nat(60), (p, pending, active, current) => {
        const { recommendation } = decideScale(p, { pending, active, current }, [], NOW);
        const [c, t] = [p.maxConcurrentTasks, p.targetPendingPerAgent];
        // need is the least n with n ≥ active / c + pending / t, in integers.
        let need = 0;
        while (need * c * t < active * t + pending * c) need++;
        expect(recommendation).toBe(Math.min(Math.max(need, floorOf(p)), p.maxAgents));
      }),
    );
  });

  it('names a limit exactly when the decision is not the recommendation, and one that fits', () => {
    fc.assert(
      fc.property(runArb, ({ pool: p, start, looks }) => {
        for (const { load, d } of simulate(p, start, looks)) {
          switch (d.limitedBy) {
            case undefined:
              expect(d.desired).toBe(d.recommendation);
              break;
            case 'maxAgents':
              expect([d.desired, d.recommendation]).toEqual([p.maxAgents, p.maxAgents]);
              break;
            case 'minAgents':
              expect([d.desired, d.recommendation]).toEqual([floorOf(p), floorOf(p)]);
              break;
            case 'maxStep':
            case 'upStabilization':
              expect(d.desired).toBeLessThan(d.recommendation);
              break;
            case 'downStabilization':
              expect(d.desired).toBeGreaterThan(d.recommendation);
              break;
            case 'pendingWork':
              expect([d.desired > d.recommendation, load.pending > 0]).toEqual([true, true]);
          }
        }
      }),
    );
  });

  it('says why in one sentence, with the setting that held it back', () => {
    const setting: Record<ScaleLimit, (p: PoolScaling) => string> = {
      maxAgents: (p) => `maxAgents ${p.maxAgents}`,
      maxStep: (p) => `scaleUp.maxStep ${p.scaleUp.maxStep}`,
      upStabilization: (p) => `last ${p.scaleUp.stabilizationSeconds}s`,
      downStabilization: (p) => `last ${p.scaleDown.stabilizationSeconds}s`,
      pendingWork: () => 'pending task',
      minAgents: (p) => (p.minAgents >= 1 ? `minAgents ${p.minAgents}` : 'scaleToZero is off'),
      // Not given in this run: bounds have their own tests.
      maxAwake: () => 'at most',
      minAwake: () => 'at least',
    };
    fc.assert(
      fc.property(runArb, ({ pool: p, start, looks }) => {
        for (const { d } of simulate(p, start, looks)) {
          expect(d.reason).toMatch(/^[a-z]/);
          expect(d.reason).not.toMatch(/\.\s|\.$|NaN|undefined|Infinity/);
          if (d.limitedBy) expect(d.reason).toContain(setting[d.limitedBy](p));
          // "waking from zero: 3 pending tasks" says 1 agent without the digit.
          if (d.desired > 0 && !d.reason.startsWith('waking from zero:')) expect(d.reason).toMatch(new RegExp(`\\b${d.desired}\\b`));
        }
      }),
    );
  });

  it('depends on time only through how long ago things were', () => {
    fc.assert(
      fc.property(runArb, fc.integer({ min: -1e12, max: 1e12 }), ({ pool: p, start, looks }, shift) => {
        for (const { now, load, given, d } of simulate(p, start, looks)) {
          const moved = decideScale(
            p,
            load,
            given.map((r) => ({ ...r, at: r.at + shift })),
            now + shift,
          );
          expect(moved).toEqual({ ...d, history: d.history.map((r) => ({ ...r, at: r.at + shift })) });
        }
      }),
    );
  });
});

describe('decideScale with awake bounds (a plugin’s pool intents)', () => {
  const night: AwakeBounds = {
    maxAwake: { count: 0, reason: 'schedule night: at most 0 awake until 08:00 Europe/Berlin (plugin automation)' },
  };
  const office: AwakeBounds = {
    minAwake: { count: 3, reason: 'schedule office: at least 3 awake until 20:00 Europe/Berlin (plugin automation)' },
  };

  it.each([
    // situation, pool, [pending, active, current], bounds, desired, limitedBy, reason
    [
      'a night window puts an idle pool to sleep, past minAgents',
      { minAgents: 2 },
      [0, 0, 2],
      night,
      0,
      'maxAwake',
      'scaling down 2 → 0: schedule night: at most 0 awake until 08:00 Europe/Berlin (plugin automation); 0 pending and 0 running tasks want 0 agents',
    ],
    [
      'a night window holds a pool at zero although tasks wait',
      { scaleToZero: true },
      [3, 0, 0],
      night,
      0,
      'maxAwake',
      'holding 0: schedule night: at most 0 awake until 08:00 Europe/Berlin (plugin automation); 3 pending and 0 running tasks want 3 agents',
    ],
    [
      'a cap above the need changes nothing',
      {},
      [1, 0, 1],
      { maxAwake: { count: 4, reason: 'cap' } },
      1,
      undefined,
      'steady at 1: 1 pending and 0 running tasks',
    ],
    [
      'an office window wakes the pool up to its minimum, past maxStep',
      up(0, 1),
      [0, 0, 0],
      office,
      3,
      'minAwake',
      'scaling up 0 → 3: schedule office: at least 3 awake until 20:00 Europe/Berlin (plugin automation); 0 pending and 0 running tasks want 0 agents',
    ],
    [
      'an office window holds the pool through the scale-down window too',
      down(0),
      [0, 0, 3],
      office,
      3,
      'minAwake',
      'holding 3: schedule office: at least 3 awake until 20:00 Europe/Berlin (plugin automation); 0 pending and 0 running tasks want 0 agents',
    ],
    [
      'a need above the minimum scales as usual',
      {},
      [9, 0, 3],
      office,
      7,
      'maxStep',
      'scaling up 3 → 7 (scaleUp.maxStep 4): 9 pending and 0 running tasks want 9 agents',
    ],
    [
      'a minimum above maxAgents stops at maxAgents',
      { maxAgents: 2 },
      [0, 0, 1],
      office,
      2,
      'minAwake',
      'scaling up 1 → 2: schedule office: at least 3 awake until 20:00 Europe/Berlin (plugin automation); 0 pending and 0 running tasks want 0 agents',
    ],
    [
      'the cap wins over a minimum above it',
      {},
      [0, 0, 2],
      { ...office, maxAwake: { count: 1, reason: 'cap 1' } },
      1,
      'maxAwake',
      'scaling down 2 → 1: cap 1; 0 pending and 0 running tasks want 0 agents',
    ],
  ] as [string, Partial<PoolScaling>, [number, number, number], AwakeBounds, number, ScaleLimit | undefined, string][])(
    '%s',
    (_situation, overrides, [pending, active, current], bounds, desired, limitedBy, reason) => {
      const d = decideScale(pool(overrides), { pending, active, current }, [], NOW, bounds);
      expect([d.desired, d.limitedBy, d.reason]).toEqual([desired, limitedBy, reason]);
    },
  );

  it('keeps its history free of the bounds, so the pool returns to its load as soon as they lift', () => {
    fc.assert(
      fc.property(runArb, fc.nat(10), fc.nat(10), ({ pool: p, start, looks }, min, max) => {
        const bounds: AwakeBounds = { minAwake: { count: min, reason: 'min' }, maxAwake: { count: max, reason: 'max' } };
        for (const { now, load, given, d } of simulate(p, start, looks)) {
          const b = decideScale(p, load, given, now, bounds);
          expect(b.history).toEqual(d.history);
          expect(b.recommendation).toBe(d.recommendation);
          // Within the bounds: at most max, at least min (capped by maxAgents and max), else as without.
          expect(b.desired).toBeLessThanOrEqual(max);
          expect(b.desired).toBeGreaterThanOrEqual(Math.min(min, p.maxAgents, max));
          if (d.desired <= max && d.desired >= Math.min(min, p.maxAgents, max)) expect(b).toEqual(d);
        }
      }),
    );
  });
});

describe('awakeBounds', () => {
  it('takes the highest minimum and the lowest maximum, each with its reason and plugin', () => {
    expect(
      awakeBounds([
        { plugin: 'automation', bounds: { minAwake: 2, reason: 'schedule a' } },
        { plugin: 'automation', bounds: { minAwake: 3, maxAwake: 5, reason: 'schedule b' } },
        { plugin: 'other', bounds: { maxAwake: 4, reason: 'budget' } },
      ]),
    ).toEqual({
      minAwake: { count: 3, reason: 'schedule b (plugin automation)' },
      maxAwake: { count: 4, reason: 'budget (plugin other)' },
    });
    expect(awakeBounds([])).toEqual({});
    expect(awakeBounds([{ plugin: 'p', bounds: { minAwake: -2, maxAwake: Number.NaN, reason: 'odd' } }])).toEqual({
      minAwake: { count: 0, reason: 'odd (plugin p)' },
    });
  });
});
