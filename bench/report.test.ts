import { describe, expect, it } from 'vitest';
import { renderReport } from './report.ts';
import type { ScenarioResult } from './results.ts';

const result: ScenarioResult = {
  scenario: 'routing',
  title: 'Task routing side by side with kube-scheduler',
  command: 'make bench SCENARIO=routing',
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:05:00.000Z',
  seconds: 300,
  node: 'v24.0.0',
  cpus: 2,
  loadAverage: { start: [0.5, 0.4, 0.3], end: [2, 1, 0.5] },
  params: { agents: 1000 },
  figures: {
    operator_100ps_p99_ms: { value: 1234.5, unit: 'ms', label: 'Task created -> Assigned p99' },
    ratio_burst_rate: { value: 0.8123, unit: 'x', label: 'burst throughput operator / kube-scheduler' },
  },
  charts: [
    {
      id: 'cdf-100ps',
      title: 'created -> placed',
      x: { label: 'ms' },
      y: { label: 'fraction', min: 0, max: 1 },
      series: [
        {
          name: 'operator',
          points: [
            [10, 0.5],
            [20, 1],
          ],
        },
      ],
    },
  ],
  lines: ['routing side by side'],
};

describe('renderReport', () => {
  const { markdown, svgs } = renderReport(
    [result],
    { routing: { operator_100ps_p99_ms: { max: 1000 }, ratio_burst_rate: { min: 0.5 } } },
    '2026-01-02T00:00:00.000Z',
  );

  it('lists each scenario with when it ran, how long it took, its load average and its threshold verdict', () => {
    expect(markdown).toContain(
      '| [routing](#routing) | 2026-01-01T00:00:00.000Z | 300 s | 0.50 0.40 0.30 -> 2.00 1.00 0.50 | 1 of 2 exceeded |',
    );
  });

  it('shows every figure with its threshold, marking the exceeded ones', () => {
    expect(markdown).toContain('| Task created -> Assigned p99 (`operator_100ps_p99_ms`) | 1235 ms | max 1000 ms **exceeded** |');
    expect(markdown).toContain('| burst throughput operator / kube-scheduler (`ratio_burst_rate`) | 0.81 x | min 0.5 x |');
    expect(markdown).toContain('Reproduce: `make bench SCENARIO=routing`');
  });

  it('draws one SVG per chart and links it', () => {
    expect([...svgs.keys()]).toEqual(['routing-cdf-100ps.svg']);
    expect(markdown).toContain('![created -> placed](routing-cdf-100ps.svg)');
    expect(svgs.get('routing-cdf-100ps.svg')).toContain('data-series="operator"');
  });

  it('says when a scenario failed', () => {
    const failed = renderReport([{ ...result, error: 'timed out' }], {}, 'now').markdown;
    expect(failed).toContain('**The scenario failed:** timed out');
    expect(failed).toContain('| scenario failed |');
  });
});
