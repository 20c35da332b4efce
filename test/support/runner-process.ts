import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from './wait.ts';

const main = path.resolve(import.meta.dirname, '../../runner/main.ts');

export type RunnerLogLine = Record<string, unknown> & { msg?: string; time?: number };

/**
 * The agent runner as its image runs it: `node runner/main.ts` in a process group of its
 * own (with the task commands it starts), so kill() takes the whole group down at once,
 * as a container's death or an OOM kill does.
 */
export class RunnerProcess {
  readonly logs: RunnerLogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? '', RUNNER_SHUTDOWN_GRACE_SECONDS: '2', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const { stdout, stderr } = this.child;
    if (!stdout || !stderr) throw new Error('spawn gave no pipes');
    createInterface({ input: stdout }).on('line', (line) => {
      try {
        this.logs.push(JSON.parse(line) as RunnerLogLine);
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

  async waitForLog(what: string, match: (line: RunnerLogLine) => boolean, timeoutMs = 60_000): Promise<RunnerLogLine> {
    return waitFor(`runner log: ${what}`, () => this.logs.find(match), { timeoutMs });
  }

  /** Signals the runner and every process it started. */
  kill(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }

  /** SIGKILLs what is left (test cleanup). */
  async stop(): Promise<void> {
    this.kill('SIGKILL');
    await this.exited;
  }
}
