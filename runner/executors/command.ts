/**
 * Runs each Task as a process: `sh -c '...'`, a coding-agent CLI, any program.
 *
 * What the command sees:
 * - stdin: spec.input (empty when unset), then end of file.
 * - TASK_NAMESPACE, TASK_NAME, TASK_ATTEMPT.
 * - TASK_DEPENDENCIES_FILE: with spec.dependsOn, a 0600 JSON file mapping each dependency's
 *   name to its result ({ output, exitCode }).
 * - TASK_PAYLOAD_FILE: path of a 0600 file holding spec.payload as JSON, removed after the
 *   run; TASK_PAYLOAD: the same JSON, only when it is at most 64 KiB (environment
 *   strings have size limits). Neither is set when the Task has no payload.
 * - Nothing else from the runner's environment: `env` is the command's whole environment.
 *
 * What it reports:
 * - exit code 0 is success; stdout is the output (its last 64 KiB);
 * - otherwise the last non-empty stderr line becomes the failure reason;
 * - context-window usage, by writing a stderr line that is exactly
 *   `::agent-orchestrator::usage tokens=<n>`; the last one counts, and it is never
 *   taken for a failure reason.
 *
 * The command runs in a process group of its own. A timeout or cancellation sends the
 * group SIGTERM, then SIGKILL after killGraceMs. Whatever is left in the group when the
 * command exits is killed: background leftovers must neither outlive their task nor hold
 * its pipes open.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../operator/src/runtime/clock.ts';
import { StderrScanner, TailBuffer } from './capture.ts';
import { LineSplitter } from './lines.ts';
import { OUTPUT_LIMIT_BYTES, truncateOutput, type ExecutionResult, type Executor, type TaskInput } from './executor.ts';

export interface CommandExecutorOptions {
  /** Program and arguments, run without a shell: ['sh', '-c', 'cat'], ['claude', '-p']. */
  command: string[];
  /** The command's whole environment; the runner decides what it passes through. */
  env?: Record<string, string>;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs?: number;
  clock?: Clock;
  /** Each line the command writes, as it writes it (the runner logs it with the task's name). */
  onLine?: (task: TaskInput, stream: 'stdout' | 'stderr', line: string) => void;
}

const PAYLOAD_ENV_LIMIT_BYTES = 64 * 1024;

type Stop = 'TimedOut' | 'Cancelled';
type Exit = { code: number | null; signal: NodeJS.Signals | null };

export class CommandExecutor implements Executor {
  readonly name = 'command';
  private readonly file: string;
  private readonly args: string[];
  private readonly env: Record<string, string>;
  private readonly killGraceMs: number;
  private readonly clock: Clock;
  private readonly onLine: CommandExecutorOptions['onLine'];

  constructor(options: CommandExecutorOptions) {
    const [file, ...args] = options.command;
    if (file === undefined || file === '') throw new Error('CommandExecutor needs a command, such as ["sh", "-c", "cat"]');
    this.file = file;
    this.args = args;
    this.env = options.env ?? {};
    this.killGraceMs = options.killGraceMs ?? 5000;
    this.clock = options.clock ?? systemClock;
    this.onLine = options.onLine;
  }

  async execute(task: TaskInput, signal: AbortSignal): Promise<ExecutionResult> {
    const env: Record<string, string> = {
      ...this.env,
      TASK_NAMESPACE: task.namespace,
      TASK_NAME: task.name,
      TASK_ATTEMPT: String(task.attempt),
    };
    let dir: string | undefined;
    try {
      if (task.payload !== undefined || task.dependencies !== undefined) dir = await mkdtemp(join(tmpdir(), 'task-payload-'));
      if (task.payload !== undefined && dir) {
        const json = JSON.stringify(task.payload);
        env.TASK_PAYLOAD_FILE = join(dir, 'payload.json');
        await writeFile(env.TASK_PAYLOAD_FILE, json, { mode: 0o600 });
        if (Buffer.byteLength(json) <= PAYLOAD_ENV_LIMIT_BYTES) env.TASK_PAYLOAD = json;
      }
      // A workflow step reads what the steps it depends on produced (only ever as a file:
      // outputs run to 64 KiB each).
      if (task.dependencies !== undefined && dir) {
        env.TASK_DEPENDENCIES_FILE = join(dir, 'dependencies.json');
        await writeFile(env.TASK_DEPENDENCIES_FILE, JSON.stringify(task.dependencies), { mode: 0o600 });
      }
    } catch (err) {
      await removeDir(dir);
      return { outcome: 'Failed', output: '', reason: `cannot write the payload file: ${describe(err)}` };
    }
    try {
      return await this.run(task, env, signal);
    } finally {
      await removeDir(dir);
    }
  }

  private run(task: TaskInput, env: Record<string, string>, signal: AbortSignal): Promise<ExecutionResult> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve({ outcome: 'Cancelled', output: '', reason: 'cancelled before it started' });
        return;
      }
      const stdout = new TailBuffer(OUTPUT_LIMIT_BYTES);
      const stderr = new StderrScanner();
      const onLine = this.onLine;
      const echo = onLine
        ? { stdout: new LineSplitter((l) => { onLine(task, 'stdout', l); }), stderr: new LineSplitter((l) => { onLine(task, 'stderr', l); }) }
        : undefined;
      let child: ChildProcessWithoutNullStreams;
      try {
        child = spawn(this.file, this.args, { env, stdio: 'pipe', detached: true });
      } catch (err) {
        // Most spawn failures arrive as an 'error' event; a few (E2BIG, bad arguments) throw.
        resolve(cannotStart(this.file, err));
        return;
      }
      let stop: Stop | undefined;
      let exit: Exit | undefined;
      let done = false;
      let cancelGrace = (): void => undefined;
      let cancelDrain = (): void => undefined;

      const killGroup = (sig: NodeJS.Signals): void => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, sig);
        } catch {
          // ESRCH: the group is empty already.
        }
      };
      const terminate = (why: Stop): void => {
        if (stop !== undefined || exit !== undefined) return;
        stop = why;
        killGroup('SIGTERM');
        cancelGrace = this.clock.setTimer(this.killGraceMs, () => {
          killGroup('SIGKILL');
        });
      };
      const cancelTimeout = this.clock.setTimer(task.timeoutSeconds * 1000, () => {
        terminate('TimedOut');
      });
      const onAbort = (): void => {
        terminate('Cancelled');
      };
      signal.addEventListener('abort', onAbort, { once: true });

      const finish = (result: ExecutionResult): void => {
        if (done) return;
        done = true;
        cancelTimeout();
        cancelGrace();
        cancelDrain();
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const settle = (): void => {
        if (exit === undefined || done) return;
        stderr.end();
        echo?.stdout.end();
        echo?.stderr.end();
        const { text, dropped } = stdout.text();
        const output = truncateOutput(text, dropped);
        const usage = stderr.tokens === undefined ? {} : { usage: { contextTokens: stderr.tokens } };
        finish({ ...this.outcome(task, exit, stop, stderr.lastLine), output, ...usage });
      };

      child.stdout.on('data', (chunk: Buffer) => {
        stdout.push(chunk);
        echo?.stdout.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr.push(chunk);
        echo?.stderr.push(chunk);
      });
      child.stdin.on('error', () => {
        // EPIPE: the command exited without reading all of its input; its exit status says how it went.
      });
      child.stdin.end(task.input ?? '');

      child.on('error', (err) => {
        // Only spawning can fail here: killing goes through process.kill.
        finish(cannotStart(this.file, err));
      });
      child.on('exit', (code, sig) => {
        if (done) return;
        exit = { code, signal: sig };
        killGroup('SIGKILL');
        // A process that left the group (setsid) may hold the pipes open forever.
        cancelDrain = this.clock.setTimer(this.killGraceMs, () => {
          child.stdout.destroy();
          child.stderr.destroy();
          settle();
        });
      });
      child.on('close', settle);
    });
  }

  private outcome(
    task: TaskInput,
    exit: Exit,
    stop: Stop | undefined,
    lastLine: string,
  ): Pick<ExecutionResult, 'outcome' | 'exitCode' | 'reason'> {
    const detail = lastLine === '' ? '' : `: ${lastLine}`;
    if (stop === 'TimedOut') return { outcome: 'TimedOut', reason: `timed out after ${task.timeoutSeconds}s` };
    if (stop === 'Cancelled') return { outcome: 'Cancelled', reason: 'cancelled by the runner' };
    if (exit.code === 0) return { outcome: 'Succeeded', exitCode: 0, reason: 'exit code 0' };
    if (exit.code !== null) return { outcome: 'Failed', exitCode: exit.code, reason: `exit code ${exit.code}${detail}` };
    // A signal nobody here sent (an OOM kill, a crash): reported the way shells do.
    const number = exit.signal === null ? 0 : constants.signals[exit.signal];
    return { outcome: 'Failed', exitCode: 128 + number, reason: `killed by ${exit.signal ?? 'a signal'}${detail}` };
  }
}

async function removeDir(dir: string | undefined): Promise<void> {
  if (dir === undefined) return;
  // A leftover temp file must not turn a finished task into an error.
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

function cannotStart(file: string, err: unknown): ExecutionResult {
  return { outcome: 'Failed', output: '', reason: `cannot start command "${file}": ${describe(err)}` };
}

function describe(err: unknown): string {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}
