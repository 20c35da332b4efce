// The benchmark suite: runs the scenarios one after another, each in a process of its
// own, then draws the report (bench/results/report.md and its SVG charts) from the
// result files.
//
//   make bench                     (every scenario; SCENARIO=routing,fleet for some)
//   node bench/run.ts [--scenario a,b] [--report-only] [--list]
//
// BENCH_LOCK=/path/to/lockfile runs each scenario under `flock -o` on that file and lets
// go of it between scenarios, so other users of a shared control plane get their turn.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderReport, writeReport } from './report.ts';
import { formatLoad, loadAverage, readResults, resultsDir, type ScenarioResult } from './results.ts';
import { SCENARIOS, selectScenarios, type Scenario } from './scenarios.ts';
import { parseThresholds } from './thresholds.ts';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: process.env.SCENARIO ?? '' },
    'report-only': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
  },
});
const dir = resultsDir();
const thresholdsFile = path.join(import.meta.dirname, 'thresholds.yaml');

interface Outcome {
  scenario: Scenario;
  seconds: number;
  code: number | null;
}

/** Runs one scenario; its stdout passes through and is kept for a result file it may not write. */
async function runScenario(s: Scenario): Promise<Outcome> {
  const file = path.join(dir, `${s.name}.json`);
  rmSync(file, { force: true });
  const node = [process.execPath, path.join(import.meta.dirname, s.script), ...s.args];
  const lock = process.env.BENCH_LOCK;
  const [cmd, ...args] = lock ? ['flock', '-o', lock, ...node] : node;
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const load = loadAverage();
  const lines: string[] = [];
  const child = spawn(cmd ?? '', args, {
    env: { ...process.env, BENCH_SCENARIO: s.name, BENCH_RESULTS_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    lines.push(...chunk.toString().split('\n').filter(Boolean));
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const seconds = (performance.now() - started) / 1000;
  if (!existsSync(file)) {
    const result: ScenarioResult = {
      scenario: s.name,
      title: s.about,
      command: `make bench SCENARIO=${s.name}`,
      startedAt,
      finishedAt: new Date().toISOString(),
      seconds: Math.round(seconds * 10) / 10,
      node: process.version,
      cpus: os.availableParallelism(),
      loadAverage: { start: load, end: loadAverage() },
      params: {},
      figures: {},
      charts: [],
      lines,
      ...(code === 0 ? {} : { error: `exited with ${String(code)} before writing its result` }),
    };
    writeFileSync(file, `${JSON.stringify(result, null, 1)}\n`);
  }
  return { scenario: s, seconds, code };
}

function drawReport(): string {
  const order = new Map(SCENARIOS.map((s, i) => [s.name, i]));
  const results = [...readResults(dir).values()].sort((a, b) => (order.get(a.scenario) ?? 99) - (order.get(b.scenario) ?? 99));
  const report = renderReport(results, parseThresholds(readFileSync(thresholdsFile, 'utf8')), new Date().toISOString());
  return writeReport(dir, report);
}

const selected = selectScenarios(values.scenario || undefined);
if (values.list) {
  for (const s of SCENARIOS)
    console.log(
      `${s.name.padEnd(18)} ~${String(s.minutes).padStart(2)} min  ${s.about}${selected.includes(s) ? '' : ' (its script is not there yet)'}`,
    );
} else {
  mkdirSync(dir, { recursive: true });
  const outcomes: Outcome[] = [];
  if (!values['report-only']) {
    const minutes = selected.reduce((a, s) => a + s.minutes, 0);
    process.stderr.write(
      `running ${selected.map((s) => s.name).join(', ')} (about ${minutes} min at the defaults); load average ${formatLoad(loadAverage())}\n`,
    );
    for (const s of selected) {
      process.stderr.write(`\n=== ${s.name}: ${s.about}\n`);
      outcomes.push(await runScenario(s));
    }
  }
  const report = drawReport();
  if (outcomes.length) {
    console.log('\nscenario            took    exit');
    for (const o of outcomes) console.log(`${o.scenario.name.padEnd(18)} ${o.seconds.toFixed(0).padStart(5)} s  ${String(o.code)}`);
  }
  console.log(`report: ${path.relative(process.cwd(), report)}; check it against the thresholds with make bench-check`);
  if (outcomes.some((o) => o.code !== 0)) process.exitCode = 1;
}
