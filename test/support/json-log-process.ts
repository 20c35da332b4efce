import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { waitFor } from './wait.ts';

export type LogLine = Record<string, unknown> & { msg?: string };

/** `node <script>` in a process of its own, its JSON log lines (pino) collected as they come. */
export class JsonLogProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  protected readonly child: ChildProcess;

  constructor(script: string, args: string[], env: Record<string, string>, options: { detached?: boolean } = {}) {
    this.child = spawn(process.execPath, [script, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
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

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async waitForLog(what: string, match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return waitFor(`log line: ${what}`, () => this.logs.find(match), { timeoutMs });
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills the process if it still runs (test cleanup). */
  async stop(): Promise<void> {
    if (this.running) this.kill('SIGKILL');
    await this.exited;
  }
}
