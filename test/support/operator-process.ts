import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { inject } from 'vitest';
import { waitFor } from './wait.ts';

const main = path.resolve(import.meta.dirname, '../../operator/src/main.ts');

export type LogLine = Record<string, unknown> & { msg?: string };

/**
 * The operator as users run it: `node operator/src/main.ts` in its own process, talking
 * to the test cluster, with probes and metrics on ephemeral loopback ports.
 */
export class OperatorProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>, args: string[] = []) {
    this.child = spawn(process.execPath, [main, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        KUBECONFIG: inject('kubeconfig'),
        AO_METRICS_BIND_ADDRESS: '127.0.0.1:0',
        AO_HEALTH_PROBE_BIND_ADDRESS: '127.0.0.1:0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const { stdout, stderr } = this.child;
    if (!stdout || !stderr) throw new Error('spawn gave no pipes');
    createInterface({ input: stdout }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        this.logs.push({ msg: line });
      }
    });
    createInterface({ input: stderr }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        resolve({ code, signal });
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  async waitForLog(what: string, match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return waitFor(`log line: ${what}`, () => this.logs.find(match), { timeoutMs });
  }

  /** Base URL of the server that serves `route` (/readyz, /metrics), from its "serving" log line. */
  async url(route: string): Promise<string> {
    const line = await this.waitForLog(`serving ${route}`, (l) => l.msg === 'serving' && (l.paths as string[]).includes(route));
    return `http://${String(line.address)}${route}`;
  }

  async get(route: string): Promise<{ status: number; body: string }> {
    const res = await fetch(await this.url(route));
    return { status: res.status, body: await res.text() };
  }

  /** Kills the process if it still runs (test cleanup). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
