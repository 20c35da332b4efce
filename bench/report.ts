// The benchmark report: bench/results/report.md and one SVG per chart, drawn from the
// result files alone. renderReport is pure; writeReport puts its output on disk.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatLoad, type ScenarioResult } from './results.ts';
import { lineChart } from './svg-chart.ts';
import { describeLimit, judge, type Thresholds } from './thresholds.ts';

export interface Report {
  markdown: string;
  /** File name (in the results folder) -> SVG text. */
  svgs: Map<string, string>;
}

function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`;
}

export function renderReport(results: readonly ScenarioResult[], thresholds: Thresholds, generatedAt: string): Report {
  const svgs = new Map<string, string>();
  const out = [
    '# Benchmark report',
    '',
    `Drawn ${generatedAt} from the result files in this folder (each scenario's own JSON, written when it ran).`,
    'Figures depend on the machine and on what else it did: each scenario carries the load average',
    'at its start and end. `make bench-check` compares them with bench/thresholds.yaml.',
    '',
    '| scenario | measured at | took | load average, start -> end | thresholds |',
    '|---|---|---|---|---|',
  ];
  for (const r of results) {
    const limits = thresholds[r.scenario] ?? {};
    const failed = Object.entries(limits).filter(([id, l]) => {
      const f = r.figures[id];
      return !f || judge(f, l) !== undefined;
    }).length;
    const total = Object.keys(limits).length;
    const verdict =
      r.error !== undefined ? 'scenario failed' : total === 0 ? 'none' : failed === 0 ? `${total} ok` : `${failed} of ${total} exceeded`;
    out.push(
      `| [${r.scenario}](#${r.scenario}) | ${r.startedAt} | ${r.seconds.toFixed(0)} s | ${formatLoad(r.loadAverage.start)} -> ${formatLoad(r.loadAverage.end)} | ${verdict} |`,
    );
  }
  for (const r of results) {
    const limits = thresholds[r.scenario] ?? {};
    out.push('', `<a id="${r.scenario}"></a>`, `## ${r.scenario}: ${r.title}`, '');
    out.push(
      `Reproduce: \`${r.command}\`. Node ${r.node} on ${r.cpus} CPUs; took ${r.seconds.toFixed(0)} s; load average ${formatLoad(r.loadAverage.start)} at start, ${formatLoad(r.loadAverage.end)} at end.`,
    );
    const params = Object.entries(r.params).map(([k, v]) => `${k}=${String(v)}`);
    if (params.length) out.push('', `Parameters: ${params.join(', ')}.`);
    if (r.error !== undefined) out.push('', `**The scenario failed:** ${r.error}. Its figures are partial.`);
    out.push('', '| figure | value | threshold |', '|---|---|---|');
    for (const [id, f] of Object.entries(r.figures)) {
      const limit = limits[id];
      const verdict = limit ? `${describeLimit(limit, f.unit)}${judge(f, limit) === undefined ? '' : ' **exceeded**'}` : '';
      out.push(`| ${f.label} (\`${id}\`) | ${formatValue(f.value, f.unit)} | ${verdict} |`);
    }
    for (const c of r.charts) {
      const file = `${r.scenario}-${c.id}.svg`;
      svgs.set(file, lineChart(c));
      out.push('', `![${c.title}](${file})`);
    }
    if (r.lines.length) out.push('', '<details><summary>printed output</summary>', '', '```', ...r.lines, '```', '', '</details>');
  }
  out.push('');
  return { markdown: out.join('\n'), svgs };
}

export function writeReport(dir: string, report: Report): string {
  for (const [file, svg] of report.svgs) writeFileSync(path.join(dir, file), svg);
  const file = path.join(dir, 'report.md');
  writeFileSync(file, report.markdown);
  return file;
}
