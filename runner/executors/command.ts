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
 * - token usage, by writing stderr lines `::agent-orchestrator::usage` followed by at
 *   least one of `tokens=<n>` (the context in use after the task), `input=<n>`,
 *   `output=<n>`, `cached=<n>`, `model=<name>`, in any order (capture.ts parseUsageLine).
 *   A CLI making several model calls per task may print one per call: input, output and
 *   cached add up over the lines, tokens and model are the last line's. A report line is
 *   never taken for a failure reason; a line with an unknown key is not a report.
 *
 * Compaction (only with `compactCommand`): the compact command runs the same way, with
 * COMPACT=1, no TASK_* variables and `compactPrompt` on stdin; exit 0 is success, its
 * stdout the summary, the `tokens=` of its usage report the context left. Without a
 * compact command the executor has no `compact` method: the agent cannot shrink its
 * context, and is recycled instead.
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
import {
  OUTPUT_LIMIT_BYTES,
  compactionTask,
  truncateOutput,
  type CompactResult,
  type ExecutionResult,
  type Executor,
  type TaskInput,
} from './executor.ts';

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
  /** Makes the agent summarise its context (RUNNER_COMPACT_COMMAND); without it, no `compact`. */
  compactCommand?: string[];
  /** The compact command's stdin (RUNNER_COMPACT_PROMPT). */
  compactPrompt?: string;
  /** How long a compaction may take. */
  compactTimeoutSeconds?: number;
}

/** What coding-agent CLIs (Claude Code, ...) take as their compaction command. */
export const DEFAULT_COMMAND_COMPACT_PROMPT = '/compact';

const PAYLOAD_ENV_LIMIT_BYTES = 64 * 1024;

type Stop = 'TimedOut' | 'Cancelled';
type Program = { file: string; args: string[] };
type Exit = { code: number | null; signal: NodeJS.Signals | null };

export class CommandExecutor implements Executor {
  readonly name = 'command';
  private readonly program: Program;
  private readonly env: Record<string, string>;
  private readonly killGraceMs: number;
  private readonly clock: Clock;
  private readonly onLine: CommandExecutorOptions['onLine'];
  /** Present only with a compact command: the runner tells the two kinds of agent apart by it. */
  readonly compact?: (signal: AbortSignal) => Promise<CompactResult>;

  constructor(options: CommandExecutorOptions) {
    this.program = program(options.command, 'CommandExecutor needs a command, such as ["sh", "-c", "cat"]');
    if (options.compactCommand !== undefined) {
      const compact = program(options.compactCommand, 'compactCommand must name a program, such as ["claude", "-p", "--continue"]');
      const task = compactionTask(options.compactPrompt ?? DEFAULT_COMMAND_COMPACT_PROMPT, options.compactTimeoutSeconds ?? 600);
      this.compact = (signal) => this.runCompaction(compact, task, signal);
    }
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
      return await this.run(this.program, task, env, signal);
    } finally {
      await removeDir(dir);
    }
  }

  private async runCompaction(compact: Program, task: TaskInput, signal: AbortSignal): Promise<CompactResult> {
    const result = await this.run(compact, task, { ...this.env, COMPACT: '1' }, signal);
    if (result.outcome !== 'Succeeded') return { outcome: 'Failed', reason: `compaction: ${result.reason}` };
    const contextTokens = result.usage?.contextTokens;
    return {
      outcome: 'Compacted',
      reason:
        contextTokens === undefined
          ? 'compacted; the command reported no tokens= for the context left'
          : `compacted to ${contextTokens} tokens`,
      summary: result.output,
      ...(contextTokens === undefined ? {} : { contextTokens }),
    };
  }

  private run(command: Program, task: TaskInput, env: Record<string, string>, signal: AbortSignal): Promise<ExecutionResult> {
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve({ outcome: 'Cancelled', output: '', reason: 'cancelled before it started' });
        return;
      }
      const stdout = new TailBuffer(OUTPUT_LIMIT_BYTES);
      const stderr = new StderrScanner();
      const onLine = this.onLine;
      const echo = onLine
        ? {
            stdout: new LineSplitter((l) => {
              onLine(task, 'stdout', l);
            }),
            stderr: new LineSplitter((l) => {
              onLine(task, 'stderr', l);
            }),
          }
        : undefined;
      let child: ChildProcessWithoutNullStreams;
      try {
        child = spawn(command.file, command.args, { env, stdio: 'pipe', detached: true });
      } catch (err) {
        // Most spawn failures arrive as an 'error' event; a few (E2BIG, bad arguments) throw.
        resolve(cannotStart(command.file, err));
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
        const usage = stderr.usage === undefined ? {} : { usage: stderr.usage };
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
        finish(cannotStart(command.file, err));
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

function program(command: string[], problem: string): Program {
  const [file, ...args] = command;
  if (file === undefined || file === '') throw new Error(problem);
  return { file, args };
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
