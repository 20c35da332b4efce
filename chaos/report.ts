// The tables a chaos run prints: the invariants, then the faults and their recovery times.
import type { RecoveryRow, Verdict } from './invariants.ts';

const seconds = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
}

export interface RunSummary {
  seed: number;
  durationSeconds: number;
  tasks: number;
  outcomes: Record<string, number>;
  journal: { writes: number; refused: number; executions: number; staleExecutions: number; handedBack: number };
}

/** Markdown tables (they paste into docs/reliability.md as they are), then each violation. */
export function printTables(
  run: RunSummary,
  verdicts: readonly Verdict[],
  recovery: readonly RecoveryRow[],
  out: (line: string) => void,
): void {
  out('');
  out(
    `seed ${run.seed}, ${run.durationSeconds} s, ${run.tasks} tasks (${Object.entries(run.outcomes)
      .map(([p, n]) => `${n} ${p}`)
      .join(
        ', ',
      )}); ${run.journal.handedBack} attempts handed back (Lost); journal: ${run.journal.writes} status writes (${run.journal.refused} refused: a 409 to read again, or dropped by the fence), ${run.journal.executions} executions (${run.journal.staleExecutions} went on after a later attempt was claimed)`,
  );
  out('');
  for (const l of table(
    ['invariant', 'checked', 'violations'],
    verdicts.map((v) => [v.invariant, String(v.checked), String(v.violations.length)]),
  ))
    out(l);
  out('');
  for (const l of table(
    ['fault', 'count', 'recover p50', 'max'],
    recovery.map((r) => [r.fault, String(r.count), seconds(r.p50Ms), seconds(r.maxMs)]),
  ))
    out(l);
  for (const v of verdicts) {
    if (v.violations.length === 0) continue;
    out('');
    out(`violations of "${v.invariant}":`);
    for (const line of v.violations.slice(0, 50)) out(`  ${line}`);
    if (v.violations.length > 50) out(`  ... and ${v.violations.length - 50} more (all in the result file)`);
  }
}
