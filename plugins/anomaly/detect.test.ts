import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECENT_OUTCOMES } from '../../operator/src/api/names.ts';
import { seededRandom } from '../../operator/src/framework/testing.ts';
import { anomalyConfig } from './config.ts';
import { judge, streakOf, type Attempt } from './detect.ts';
import { decideQuarantine, type Previous } from './quarantine.ts';

const DEFAULTS = anomalyConfig.parse({});
const T0 = 1_700_000_000_000;

function attempts(durations: readonly (number | 'fail')[], capabilities = 'code', start = 0): Attempt[] {
  return durations.map((d, i) => ({
    task: `t${start + i}`,
    attempt: 1,
    capabilities,
    durationMs: d === 'fail' ? 50 : d,
    outcome: d === 'fail' ? 'Failed' : 'Succeeded',
    completedAt: T0 + (start + i) * 1000,
  }));
}

const steady = (n: number, ms = 1000): number[] => Array.from({ length: n }, (_, i) => ms * (1 + 0.05 * Math.sin(i)));

describe('judge', () => {
  it.each([
    {
      name: 'nothing is judged while warming up',
      durations: [100, 100, 100, 5000],
      slow: [false, false, false, false],
      scored: [false, false, false, false],
    },
    {
      name: 'a 3x attempt after a steady start is slow',
      durations: [...steady(8), 3000],
      slow: [...Array<boolean>(8).fill(false), true],
      scored: [...Array<boolean>(8).fill(false), true],
    },
    {
      name: 'a small slowdown of a very steady agent is not slow (minSlowdown)',
      durations: [...Array<number>(8).fill(1000), 1300],
      slow: Array<boolean>(9).fill(false),
      scored: [...Array<boolean>(8).fill(false), true],
    },
    {
      name: 'a faster attempt is never slow',
      durations: [...steady(8), 100],
      slow: Array<boolean>(9).fill(false),
      scored: [...Array<boolean>(8).fill(false), true],
    },
  ])('$name', ({ durations, slow, scored }) => {
    const [kind] = judge(attempts(durations), DEFAULTS);
    expect(kind?.attempts.map((j) => j.slow)).toEqual(slow);
    expect(kind?.attempts.map((j) => j.score !== undefined)).toEqual(scored);
  });

  it('keeps slow attempts out of the baseline, so a slowdown stays slow', () => {
    const [kind] = judge(attempts([...steady(10), ...Array<number>(20).fill(3000)]), DEFAULTS);
    expect(kind?.attempts.slice(10).every((j) => j.slow)).toBe(true);
    expect(kind?.typicalMs).toBeGreaterThan(900);
    expect(kind?.typicalMs).toBeLessThan(1100);
  });

  it('counts failures once the rate is above failureRateThreshold, after minSamples', () => {
    const [kind] = judge(attempts([...steady(8), ...Array<'fail'>(9).fill('fail')]), DEFAULTS);
    // The first failure weighs 1/9 (the 9th sample is averaged plainly), the next ones
    // alpha: the rate is 1 - (8/9)·0.9^(k-1), above 0.5 from the 7th failure in a row on.
    expect(kind?.attempts.map((j) => j.failing)).toEqual([...Array<boolean>(14).fill(false), true, true, true]);
    expect(kind?.attempts.at(-1)?.failureRate).toBeCloseTo(1 - (8 / 9) * 0.9 ** 8, 10);
  });

  it('keeps kinds of task apart: a slow kind does not make another slow', () => {
    const mixed = [...attempts([...steady(8, 100), 300], 'a'), ...attempts(steady(9, 10_000), 'b', 100)];
    const kinds = judge(mixed, DEFAULTS);
    expect(kinds.map((k) => [k.capabilities, k.attempts.filter((j) => j.slow).length])).toEqual([
      ['a', 1],
      ['b', 0],
    ]);
  });

  it('streakOf: the anomalous attempts at the end, after an instant', () => {
    const [kind] = judge(attempts([...steady(8), 3000, 1000, 3000, 3000, 3000]), DEFAULTS);
    if (kind === undefined) throw new Error('no kind');
    expect(streakOf(kind, 0).map((j) => j.attempt.task)).toEqual(['t10', 't11', 't12']);
    expect(streakOf(kind, T0 + 11_000).map((j) => j.attempt.task)).toEqual(['t12']);
  });
});

function gaussian(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

interface Agent {
  medianMs: number;
  noise: { kind: 'lognormal'; sigma: number } | { kind: 'uniform'; width: number };
  failureRate: number;
  seed: number;
}

function duration(a: Agent, next: () => number): number {
  const factor = a.noise.kind === 'lognormal' ? Math.exp(a.noise.sigma * gaussian(next)) : 1 - a.noise.width + 2 * a.noise.width * next();
  return Math.max(1, Math.round(a.medianMs * factor));
}

/**
 * Runs `total` tasks through the plugin's loop: the runner keeps the last attempts, the
 * plugin decides on them with its previous condition. Returns the task number (1-based)
 * at which the agent was first quarantined, or undefined.
 */
function simulate(a: Agent, total: number, slowFrom = Number.POSITIVE_INFINITY, factor = 3): number | undefined {
  const next = seededRandom(a.seed);
  let recent: Attempt[] = [];
  let previous: Previous | undefined;
  for (let i = 0; i < total; i++) {
    const failed = next() < a.failureRate;
    const ms = duration(a, next) * (i >= slowFrom ? factor : 1);
    recent = [
      ...recent,
      {
        task: `t${i}`,
        attempt: 1,
        capabilities: 'code',
        durationMs: ms,
        outcome: failed ? 'Failed' : 'Succeeded',
        completedAt: T0 + i * 60_000,
      } as const,
    ].slice(-RECENT_OUTCOMES);
    const now = T0 + i * 60_000 + 1;
    const d = decideQuarantine({
      now,
      kinds: judge(recent, DEFAULTS),
      previous,
      consecutive: DEFAULTS.consecutiveTasks,
      cooldownMs: DEFAULTS.cooldownSeconds * 1000,
    });
    if (d.state === 'quarantined') return i + 1;
    previous = d.condition.status === 'False' && previous === undefined ? undefined : { ...d.condition, since: d.since };
  }
  return undefined;
}

const agentArb = (sigmaMax: number, widthMax: number, failureMax: number): fc.Arbitrary<Agent> =>
  fc.record({
    medianMs: fc.integer({ min: 10, max: 3_600_000 }),
    noise: fc.oneof(
      fc.record({ kind: fc.constant('lognormal' as const), sigma: fc.double({ min: 0, max: sigmaMax, noNaN: true }) }),
      fc.record({ kind: fc.constant('uniform' as const), width: fc.double({ min: 0, max: widthMax, noNaN: true }) }),
    ),
    failureRate: fc.double({ min: 0, max: failureMax, noNaN: true }),
    seed: fc.integer(),
  });

// A detector of random noise has a false-positive rate, however small: the properties
// run on a fixed seed so that a run is reproducible, and were run unseeded at 1,500 and
// 5,000 runs without a counterexample (stationary) or with one in 2,000 landing on the
// 6th slow task instead of the 5th (hence "within 2N"; the table above pins exactly N).
const SEED = 20261130;

describe('properties at the default settings', () => {
  it('a healthy agent with noisy but stationary durations is never quarantined over 10,000 tasks', () => {
    fc.assert(
      fc.property(agentArb(0.35, 0.4, 0.1), (a) => simulate(a, 10_000) === undefined),
      { numRuns: 40, seed: SEED },
    );
    // 400,000 simulated tasks: seconds under coverage on a shared 2-core machine.
  }, 60_000);

  it('a 3x slowdown is quarantined within 2 x consecutiveTasks slow tasks, never before consecutiveTasks (durations within about 15%)', () => {
    const n = DEFAULTS.consecutiveTasks;
    fc.assert(
      fc.property(agentArb(0.15, 0.15, 0), fc.integer({ min: RECENT_OUTCOMES, max: 300 }), (a, slowFrom) => {
        const at = simulate(a, slowFrom + 3 * n, slowFrom);
        return at !== undefined && at >= slowFrom + n && at <= slowFrom + 2 * n;
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  it('a 3x slowdown of a steady agent is quarantined at exactly the consecutiveTasks-th slow task', () => {
    const a: Agent = { medianMs: 20_000, noise: { kind: 'lognormal', sigma: 0.1 }, failureRate: 0, seed: 7 };
    expect(simulate(a, 200, 100)).toBe(100 + DEFAULTS.consecutiveTasks);
  });
});
