// What one benchmark scenario leaves behind: bench/results/<scenario>.json. The report
// (bench/report.ts) and the threshold check (bench/check.ts) read only these files, so
// they can be redrawn and rechecked without a cluster.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChartSpec } from './svg-chart.ts';

export const DEFAULT_RESULTS_DIR = path.resolve(import.meta.dirname, 'results');

export interface Figure {
  value: number;
  unit: string;
  /** What was measured, for a person: "Task created -> Assigned p99 at 100/s". */
  label: string;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  /** How to measure it again. */
  command: string;
  startedAt: string;
  finishedAt: string;
  seconds: number;
  node: string;
  cpus: number;
  /** The 1, 5 and 15 minute load averages: on a shared machine a figure means little without them. */
  loadAverage: { start: number[]; end: number[] };
  params: Record<string, string | number | boolean>;
  figures: Record<string, Figure>;
  charts: (ChartSpec & { id: string })[];
  /** The lines the scenario printed, in order. */
  lines: string[];
  /** Set when the scenario did not finish; its figures are then partial. */
  error?: string;
}

export function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR ?? DEFAULT_RESULTS_DIR;
}

export function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

export function formatLoad(load: readonly number[]): string {
  return load.map((l) => l.toFixed(2)).join(' ');
}

/**
 * Collects one scenario's figures as it measures them. The suite (bench/run.ts) names the
 * scenario through BENCH_SCENARIO, so one script can stand for several (routing at two
 * client budgets); run alone, a script is its own scenario.
 */
export class Recorder {
  readonly result: ScenarioResult;
  private readonly started = performance.now();

  constructor(defaultName: string, title: string, params: Record<string, string | number | boolean>) {
    const scenario = process.env.BENCH_SCENARIO ?? defaultName;
    this.result = {
      scenario,
      title,
      command: `make bench SCENARIO=${scenario}`,
      startedAt: new Date().toISOString(),
      finishedAt: '',
      seconds: 0,
      node: process.version,
      cpus: os.availableParallelism(),
      loadAverage: { start: loadAverage(), end: [] },
      params,
      figures: {},
      charts: [],
      lines: [],
    };
  }

  figure(id: string, value: number, unit: string, label: string): void {
    this.result.figures[id] = { value: Number.isFinite(value) ? Number(value.toPrecision(6)) : value, unit, label };
  }

  chart(id: string, chart: ChartSpec): void {
    this.result.charts.push({ id, ...chart });
  }

  /** Prints a line and keeps it for the report. */
  line(text: string): void {
    console.log(text);
    this.result.lines.push(text);
  }

  /** Writes the result file (also after a failure: what was measured stays readable). */
  write(error?: unknown): string {
    this.result.finishedAt = new Date().toISOString();
    this.result.seconds = Math.round((performance.now() - this.started) / 100) / 10;
    this.result.loadAverage.end = loadAverage();
    if (error !== undefined) this.result.error = error instanceof Error ? error.message : JSON.stringify(error);
    const dir = resultsDir();
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${this.result.scenario}.json`);
    writeFileSync(file, `${JSON.stringify(this.result, null, 1)}\n`);
    return file;
  }

  /** Runs a scenario body, writes the result whatever happens, and sets the exit code. */
  async run(body: (r: Recorder) => Promise<void>): Promise<void> {
    let failure: unknown;
    try {
      await body(this);
    } catch (err) {
      failure = err;
      process.exitCode = 1;
      console.error(err);
    }
    this.line(`  load average (1/5/15 min): ${formatLoad(this.result.loadAverage.start)} at start, ${formatLoad(loadAverage())} at end`);
    const file = this.write(failure);
    console.log(`  results: ${path.relative(process.cwd(), file)}`);
  }
}

/** Every result file in a folder, by scenario name. */
export function readResults(dir: string): Map<string, ScenarioResult> {
  const out = new Map<string, ScenarioResult>();
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort();
  } catch {
    return out;
  }
  for (const f of files) {
    const r = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as ScenarioResult;
    if (typeof r.scenario === 'string' && typeof r.figures === 'object') out.set(r.scenario, r);
  }
  return out;
}
