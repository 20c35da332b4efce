// The operator under fuzz: `node operator/src/main.ts` in a child process (the source, as
// users run it without a build), its JSON log streamed to a file and scanned as it comes,
// its CPU time read from /proc, its metrics and probes on loopback ports of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { freePort } from '../bench/operator-child.ts';

const MAIN = path.resolve(import.meta.dirname, '../operator/src/main.ts');

/** A log line of the operator that reports a 422 (Invalid) answer from the API server. */
export interface Refusal {
  /** status: a write to a status subresource; event, pod, other: what else was refused. */
  target: 'status' | 'event' | 'pod' | 'other';
  line: string;
}

/** Classifies an operator log line; undefined when it reports no 422. */
export function refusalOf(line: string): Refusal | undefined {
  if (!/\b422\b/.test(line)) return undefined;
  const target = /\/status[:\s"?]/.test(line)
    ? 'status'
    : /could not record an event|\/events\b/.test(line)
      ? 'event'
      : /\/pods\b/.test(line)
        ? 'pod'
        : 'other';
  return { target, line: line.length > 2000 ? `${line.slice(0, 2000)}…` : line };
}

export class FuzzedOperator {
  readonly pid: number;
  readonly refusals: Refusal[] = [];
  /** Lines at level error (50) and above, the first ones kept. */
  readonly errors: string[] = [];
  errorCount = 0;
  readonly stderr: string[] = [];
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private readonly probe: string;
  private readonly metricsAddress: string;

  private constructor(child: ChildProcess, logFile: string, probe: string, metrics: string) {
    this.child = child;
    this.pid = child.pid ?? -1;
    this.probe = probe;
    this.metricsAddress = metrics;
    this.log = createWriteStream(logFile);
    const { stdout, stderr } = child;
    if (!stdout || !stderr) throw new Error('spawn gave no pipes');
    createInterface({ input: stdout }).on('line', (line) => {
      this.log.write(`${line}\n`);
      const refusal = refusalOf(line);
      if (refusal) this.refusals.push(refusal);
      if (/"level":(50|60)/.test(line)) {
        this.errorCount++;
        if (this.errors.length < 20) this.errors.push(line.slice(0, 1000));
      }
    });
    createInterface({ input: stderr }).on('line', (line) => {
      this.log.write(`[stderr] ${line}\n`);
      if (this.stderr.length < 200) this.stderr.push(line);
    });
    child.on('exit', (code, signal) => {
      this.exit = { code, signal };
    });
    // A fuzz that dies must not leave its operator behind, acting on the next run's objects.
    process.once('exit', () => {
      if (this.alive) child.kill('SIGKILL');
    });
  }

  static async start(
    kubeconfig: string,
    namespaces: readonly string[],
    logFile: string,
    env: Record<string, string>,
  ): Promise<FuzzedOperator> {
    const probe = `127.0.0.1:${await freePort()}`;
    const metrics = `127.0.0.1:${await freePort()}`;
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        KUBECONFIG: kubeconfig,
        AO_WATCH_NAMESPACES: namespaces.join(','),
        AO_LEADER_ELECT: 'false',
        AO_HEALTH_PROBE_BIND_ADDRESS: probe,
        AO_METRICS_BIND_ADDRESS: metrics,
        AO_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new FuzzedOperator(child, logFile, probe, metrics);
  }

  get alive(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async ready(): Promise<boolean> {
    const res = await fetch(`http://${this.probe}/readyz`, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    return res?.status === 200;
  }

  async waitReady(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.ready())) {
      if (!this.alive) throw new Error(`the operator exited (${JSON.stringify(this.exit)}) before it was ready: ${this.stderr.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`the operator was not ready within ${timeoutMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** utime + stime of the process, in seconds (/proc/<pid>/stat, clock ticks of 100 Hz). */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return (utime + stime) / 100;
  }

  /** The sum of a metric's samples whose labels include `labels`, from /metrics. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return sumSamples(await this.scrape(), name, labels);
  }

  async scrape(): Promise<string> {
    const res = await fetch(`http://${this.metricsAddress}/metrics`, { signal: AbortSignal.timeout(10_000) });
    return res.text();
  }

  async stop(): Promise<void> {
    if (this.alive) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise((resolve) => this.log.end(resolve));
  }
}

/** Sums the samples of `name` in a Prometheus text exposition whose labels include `labels`. */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' ')) continue;
    const open = line.indexOf('{');
    const close = line.lastIndexOf('}');
    const labelText = open >= 0 && close > open ? line.slice(open + 1, close) : '';
    const have = new Map([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (!Object.entries(labels).every(([k, v]) => have.get(k) === v)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Per label value of `by`, the sum of `name`'s samples. */
export function samplesBy(text: string, name: string, by: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const value = new RegExp(`${by}="((?:[^"\\\\]|\\\\.)*)"`).exec(line)?.[1];
    if (value === undefined) continue;
    out.set(value, (out.get(value) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}
