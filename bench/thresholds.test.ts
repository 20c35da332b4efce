import { describe, expect, it } from 'vitest';
import type { ScenarioResult } from './results.ts';
import { checkThresholds, judge, parseThresholds } from './thresholds.ts';

function result(scenario: string, figures: Record<string, number>, extra: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    scenario,
    title: scenario,
    command: `make bench SCENARIO=${scenario}`,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    seconds: 60,
    node: 'v24',
    cpus: 2,
    loadAverage: { start: [0.5, 0.4, 0.3], end: [1.5, 0.9, 0.4] },
    params: {},
    figures: Object.fromEntries(Object.entries(figures).map(([id, value]) => [id, { value, unit: 'ms', label: `the ${id}` }])),
    charts: [],
    lines: [],
    ...extra,
  };
}

const thresholds = parseThresholds(`
routing:
  operator_100ps_p99_ms: { max: 1000 }
  operator_burst_per_s: { min: 100 }
startup:
  ready_0_p50_ms: { min: 1, max: 5000 }
`);

describe('parseThresholds', () => {
  it('reads scenario -> figure -> limit', () => {
    expect(thresholds.routing?.operator_100ps_p99_ms).toEqual({ max: 1000 });
    expect(thresholds.startup?.ready_0_p50_ms).toEqual({ min: 1, max: 5000 });
  });

  it.each([
    ['a limit without max or min', 'routing:\n  x: {}\n'],
    ['an unknown key', 'routing:\n  x: { maximum: 3 }\n'],
    ['a value that is not a number', 'routing:\n  x: { max: fast }\n'],
  ])('rejects %s', (_what, text) => {
    expect(() => parseThresholds(text)).toThrow(/bench thresholds/);
  });

  it('takes an empty file as no thresholds', () => {
    expect(parseThresholds('')).toEqual({});
  });
});

describe('judge', () => {
  const f = (value: number): { value: number; unit: string; label: string } => ({ value, unit: 'ms', label: 'x' });
  it.each([
    [900, { max: 1000 }, undefined],
    [1000, { max: 1000 }, undefined],
    [1001, { max: 1000 }, '= 1001 ms, above its threshold max 1000 ms'],
    [99, { min: 100 }, '= 99 ms, below its threshold min 100 ms'],
    [NaN, { max: 1000 }, 'is NaN (not measured)'],
  ])('%d against %j', (value, limit, verdict) => {
    expect(judge(f(value), limit)).toBe(verdict);
  });
});

describe('checkThresholds', () => {
  it('passes when every figure is within its limits', () => {
    const results = new Map([
      ['routing', result('routing', { operator_100ps_p99_ms: 500, operator_burst_per_s: 150 })],
      ['startup', result('startup', { ready_0_p50_ms: 800 })],
    ]);
    expect(checkThresholds(thresholds, results)).toEqual({ failures: [], passed: 3 });
  });

  it('names the figure, its value, the threshold, when and under what load it was measured, and how to reproduce it', () => {
    const results = new Map([
      ['routing', result('routing', { operator_100ps_p99_ms: 1500, operator_burst_per_s: 150 })],
      ['startup', result('startup', { ready_0_p50_ms: 800 })],
    ]);
    const { failures, passed } = checkThresholds(thresholds, results);
    expect(passed).toBe(2);
    expect(failures).toEqual([
      'routing: operator_100ps_p99_ms (the operator_100ps_p99_ms) = 1500 ms, above its threshold max 1000 ms; measured 2026-01-01T00:00:00.000Z, load 0.50 0.40 0.30 -> 1.50 0.90 0.40; reproduce: make bench SCENARIO=routing',
    ]);
  });

  it('fails a scenario without a result, a missing figure and a scenario that failed', () => {
    const results = new Map([['routing', result('routing', { operator_100ps_p99_ms: 500 }, { error: 'timed out' })]]);
    const { failures } = checkThresholds(thresholds, results);
    expect(failures).toEqual([
      'routing: the scenario failed: timed out (reproduce: make bench SCENARIO=routing)',
      'routing: figure operator_burst_per_s is missing from the result (reproduce: make bench SCENARIO=routing)',
      'startup: no result (reproduce: make bench SCENARIO=startup)',
    ]);
  });

  it('checks only the scenarios asked for', () => {
    const results = new Map([['startup', result('startup', { ready_0_p50_ms: 800 })]]);
    expect(checkThresholds(thresholds, results, new Set(['startup']))).toEqual({ failures: [], passed: 1 });
  });
});
