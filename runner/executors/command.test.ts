import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../../test/support/fake-clock.ts';
import { CommandExecutor, type CommandExecutorOptions } from './command.ts';
import { OUTPUT_LIMIT_BYTES, type ExecutionResult, type TaskInput } from './executor.ts';

const task = (extra: Partial<TaskInput> = {}): TaskInput => ({
  namespace: 'team-a',
  name: 'fix-bug',
  attempt: 2,
  timeoutSeconds: 60,
  ...extra,
});

function sh(script: string, options: Partial<CommandExecutorOptions> = {}): CommandExecutor {
  return new CommandExecutor({ command: ['sh', '-c', script], ...options });
}

function run(executor: CommandExecutor, extra: Partial<TaskInput> = {}, signal = new AbortController().signal): Promise<ExecutionResult> {
  return executor.execute(task(extra), signal);
}

/** Gone, or a zombie nobody reaps (an orphaned grandchild, when PID 1 does not reap). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'command-executor-test-'));
});
afterEach(async () => {
  // A failed test must not leave its command running.
  const pids = await readFile(`${dir}/pids`, 'utf8').catch(() => '');
  for (const pid of pids
    .split('\n')
    .map(Number)
    .filter((p) => p > 0)) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // Gone already, as it should be.
      }
    }
  }
  await rm(dir, { recursive: true, force: true });
});

/** Waits until the command has written its pid(s) to `file`, one a line: `count` of them if given. */
async function pidsIn(file: string, count?: number): Promise<number[]> {
  return vi.waitFor(async () => {
    const pids = (await readFile(file, 'utf8')).trim().split('\n').map(Number);
    if (count !== undefined) expect(pids).toHaveLength(count);
    expect(pids.every((p) => p > 0)).toBe(true);
    return pids;
  });
}

describe('CommandExecutor', () => {
  it('writes the input to stdin and returns stdout', async () => {
    const result = await run(new CommandExecutor({ command: ['cat'] }), { input: 'hello\nwörld' });
    expect(result).toEqual({ outcome: 'Succeeded', exitCode: 0, output: 'hello\nwörld', reason: 'exit code 0' });
  });

  it('closes stdin when the task has no input', async () => {
    expect(await run(new CommandExecutor({ command: ['cat'] }))).toMatchObject({ outcome: 'Succeeded', output: '' });
  });

  it('passes the task identity and its own environment, nothing else', async () => {
    const executor = sh('printf "%s|%s|%s|%s|%s" "$TASK_NAMESPACE" "$TASK_NAME" "$TASK_ATTEMPT" "$GREETING" "${TASK_PAYLOAD_FILE+set}"', {
      env: { GREETING: 'hi', TASK_NAME: 'overridden?' },
    });
    expect((await run(executor)).output).toBe('team-a|fix-bug|2|hi|');
  });

  it('passes the payload in the environment and in a private file it removes afterwards', async () => {
    const payload = { repo: 'org/app', issue: 42, labels: ['bug', 'ü'] };
    const result = await run(
      sh('printf "%s\\n" "$TASK_PAYLOAD_FILE" "$TASK_PAYLOAD"; stat -c %a "$TASK_PAYLOAD_FILE"; cat "$TASK_PAYLOAD_FILE"'),
      {
        payload,
      },
    );
    const [file, env, mode, content] = result.output.split('\n');
    expect(JSON.parse(env ?? '')).toEqual(payload);
    expect(mode).toBe('600');
    expect(JSON.parse(content ?? '')).toEqual(payload);
    expect(existsSync(file ?? '')).toBe(false);
    expect(existsSync(dirname(file ?? ''))).toBe(false);
  });

  it('passes a payload over 64 KiB only in the file', async () => {
    const payload = { blob: 'x'.repeat(70 * 1024) };
    const result = await run(sh('printf "%s|" "${TASK_PAYLOAD+set}"; sha256sum < "$TASK_PAYLOAD_FILE"'), { payload });
    const digest = createHash('sha256').update(JSON.stringify(payload)).digest('hex');
    expect(result).toMatchObject({ outcome: 'Succeeded', output: `|${digest}  -\n` });
  });

  it('fails on a non-zero exit with the last stderr line as the reason', async () => {
    const result = await run(sh('echo partial; echo first >&2; echo "  the real error " >&2; echo >&2; exit 3'));
    expect(result).toEqual({ outcome: 'Failed', exitCode: 3, output: 'partial\n', reason: 'exit code 3: the real error' });
  });

  it('clips a long stderr line in the reason', async () => {
    const result = await run(sh(`printf '%0300d' 0 >&2; exit 1`));
    expect(result.reason).toBe(`exit code 1: ${'0'.repeat(200)}`);
  });

  it('reports a command killed by a signal it did not get from us', async () => {
    expect(await run(sh('echo dying >&2; kill -KILL $$'))).toMatchObject({
      outcome: 'Failed',
      exitCode: 137,
      reason: 'killed by SIGKILL: dying',
    });
  });

  it('fails, naming the command, when it cannot start', async () => {
    const result = await run(new CommandExecutor({ command: ['/nonexistent/agent-cli', '--print'] }), { payload: { a: 1 } });
    expect(result.outcome).toBe('Failed');
    expect(result.reason).toContain('/nonexistent/agent-cli');
    expect(result.reason).toContain('ENOENT');
  });

  it('refuses an empty command', () => {
    expect(() => new CommandExecutor({ command: [] })).toThrow(/needs a command/);
  });

  it('keeps the tail of a huge output', async () => {
    const result = await run(sh(`head -c 1048576 /dev/zero | tr '\\0' a; printf '\\nanswer: 42'`));
    expect(result.outcome).toBe('Succeeded');
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(OUTPUT_LIMIT_BYTES);
    expect(result.output).toMatch(/^\[output truncated: first \d+ bytes dropped\]\naaa/);
    expect(result.output.endsWith('a\nanswer: 42')).toBe(true);
    const [marker = '', rest = ''] = result.output.split(/(?<=dropped\]\n)/);
    expect(Number(/\d+/.exec(marker)?.[0]) + Buffer.byteLength(rest)).toBe(1048576 + 11);
  });

  it('reports the last usage line and keeps it out of the reason', async () => {
    const script = [
      'echo "::agent-orchestrator::usage tokens=1200" >&2',
      'echo "rate limited" >&2',
      'echo "::agent-orchestrator::usage tokens=3400" >&2',
      'exit 2',
    ].join('; ');
    expect(await run(sh(script))).toMatchObject({ outcome: 'Failed', reason: 'exit code 2: rate limited', usage: { contextTokens: 3400 } });
    expect((await run(sh('echo "::agent-orchestrator::usage tokens=5" >&2'))).usage).toEqual({ contextTokens: 5 });
  });

  it.each([
    { name: 'the context in use', lines: ['tokens=5'], usage: { contextTokens: 5 } },
    {
      name: 'every field of one call',
      lines: ['model=claude-sonnet-4 input=1200 cached=800 output=300 tokens=1500'],
      usage: { inputTokens: 1200, cachedTokens: 800, outputTokens: 300, contextTokens: 1500, model: 'claude-sonnet-4' },
    },
    {
      name: 'several calls: counts summed, context and model the last',
      lines: ['input=1000 output=100 tokens=1100 model=small', 'input=1100 output=50 cached=1000 tokens=1250 model=large'],
      usage: { inputTokens: 2100, outputTokens: 150, cachedTokens: 1000, contextTokens: 1250, model: 'large' },
    },
  ])('reports $name', async ({ lines, usage }) => {
    const script = lines.map((l) => `echo "::agent-orchestrator::usage ${l}" >&2`).join('; ');
    expect(await run(sh(script))).toEqual({ outcome: 'Succeeded', exitCode: 0, output: '', reason: 'exit code 0', usage });
  });

  it('takes a report line with an unknown key for an ordinary line', async () => {
    const result = await run(sh('echo "::agent-orchestrator::usage tokens=5 cost=2" >&2; exit 1'));
    expect(result).toEqual({
      outcome: 'Failed',
      exitCode: 1,
      output: '',
      reason: 'exit code 1: ::agent-orchestrator::usage tokens=5 cost=2',
    });
  });

  it('does not wait for background processes the command left behind', async () => {
    const result = await run(sh(`sleep 30 & echo $! > ${dir}/pids; echo done`));
    expect(result).toMatchObject({ outcome: 'Succeeded', output: 'done\n' });
    const [leftover = 0] = await pidsIn(`${dir}/pids`);
    await vi.waitFor(() => {
      expect(isGone(leftover)).toBe(true);
    });
  });

  it('survives a command that does not read its input', async () => {
    const result = await run(new CommandExecutor({ command: ['true'] }), { input: 'x'.repeat(1 << 20) });
    expect(result).toMatchObject({ outcome: 'Succeeded', exitCode: 0 });
  });

  it('kills the whole process group on timeout', async () => {
    const clock = new FakeClock();
    const execution = run(sh(`sleep 30 & echo $! > ${dir}/pids; echo $$ >> ${dir}/pids; wait`, { clock }), { timeoutSeconds: 1 });
    const [grandchild = 0, child = 0] = await pidsIn(`${dir}/pids`, 2);
    expect(isGone(grandchild)).toBe(false);
    await clock.advance(1000);
    expect(await execution).toMatchObject({ outcome: 'TimedOut', reason: 'timed out after 1s' });
    expect(() => process.kill(child, 0)).toThrow();
    await vi.waitFor(() => {
      expect(isGone(grandchild)).toBe(true);
    });
  });

  it('sends SIGKILL after the grace period when SIGTERM is ignored', async () => {
    const clock = new FakeClock();
    const executor = sh(`trap "" TERM; echo $$ > ${dir}/pids; while :; do sleep 1; done`, { clock, killGraceMs: 2000 });
    const execution = run(executor, { timeoutSeconds: 5 });
    const [pid = 0] = await pidsIn(`${dir}/pids`);
    await clock.advance(5000); // SIGTERM, ignored
    expect(isGone(pid)).toBe(false);
    await clock.advance(2000); // SIGKILL
    expect(await execution).toMatchObject({ outcome: 'TimedOut', reason: 'timed out after 5s' });
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('stops the command and resolves Cancelled when the signal aborts', async () => {
    const abort = new AbortController();
    const execution = run(sh(`echo $$ > ${dir}/pids; echo started; exec sleep 30`), { payload: { a: 1 } }, abort.signal);
    const [pid = 0] = await pidsIn(`${dir}/pids`);
    abort.abort();
    const result = await execution;
    expect(result).toMatchObject({ outcome: 'Cancelled', output: 'started\n' });
    expect(result.exitCode).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('does not start a command when the signal has aborted already', async () => {
    const result = await run(sh(`touch ${dir}/ran`), {}, AbortSignal.abort());
    expect(result.outcome).toBe('Cancelled');
    expect(existsSync(`${dir}/ran`)).toBe(false);
  });
});

describe('streaming', () => {
  it('passes each line of stdout and stderr on as it is written, with the task, and still returns the output', async () => {
    const lines: string[] = [];
    const executor = new CommandExecutor({
      command: ['sh', '-c', 'echo one; echo warn >&2; printf "two\\nthree"'],
      onLine: (task, stream, line) => lines.push(`${task.name} ${stream} ${line}`),
    });
    const result = await run(executor);
    expect(result).toMatchObject({ outcome: 'Succeeded', output: 'one\ntwo\nthree' });
    expect(lines.filter((l) => l.includes(' stdout '))).toEqual(['fix-bug stdout one', 'fix-bug stdout two', 'fix-bug stdout three']);
    expect(lines.filter((l) => l.includes(' stderr '))).toEqual(['fix-bug stderr warn']);
  });
});

describe('compaction', () => {
  it('has no compact method without a compact command', () => {
    expect(sh('cat').compact).toBeUndefined();
  });

  it('runs the compact command with the prompt on stdin and COMPACT=1; stdout is the summary, tokens= the context left', async () => {
    const lines: string[] = [];
    const executor = new CommandExecutor({
      command: ['cat'],
      env: { GREETING: 'hi' },
      compactCommand: [
        'sh',
        '-c',
        'printf "summary of [%s] %s %s|%s" "$(cat)" "$COMPACT" "$GREETING" "${TASK_NAME-unset}"; echo "::agent-orchestrator::usage tokens=900 input=5000 output=200" >&2',
      ],
      onLine: (task, stream, line) => lines.push(`${task.name}/${task.attempt} ${stream} ${line}`),
    });
    expect(await executor.compact?.(new AbortController().signal)).toEqual({
      outcome: 'Compacted',
      reason: 'compacted to 900 tokens',
      summary: 'summary of [/compact] 1 hi|unset',
      contextTokens: 900,
    });
    expect(lines).toContain('compaction/0 stdout summary of [/compact] 1 hi|unset');
  });

  it.each([
    {
      name: 'a configured prompt, no token report',
      options: { compactCommand: ['cat'], compactPrompt: 'Summarise, please.' },
      result: {
        outcome: 'Compacted',
        reason: 'compacted; the command reported no tokens= for the context left',
        summary: 'Summarise, please.',
      },
    },
    {
      name: 'a compact command that fails',
      options: { compactCommand: ['sh', '-c', 'echo "no session to compact" >&2; exit 4'] },
      result: { outcome: 'Failed', reason: 'compaction: exit code 4: no session to compact' },
    },
    {
      name: 'a compact command that does not exist',
      options: { compactCommand: ['/nonexistent/compact'] },
      result: { outcome: 'Failed', reason: 'compaction: cannot start command "/nonexistent/compact": ENOENT' },
    },
  ])('reports $name', async ({ options, result }) => {
    const executor = new CommandExecutor({ command: ['cat'], ...options });
    expect(await executor.compact?.(new AbortController().signal)).toEqual(result);
  });

  it('stops a compact command past its timeout', async () => {
    const clock = new FakeClock();
    const executor = new CommandExecutor({
      command: ['cat'],
      compactCommand: ['sh', '-c', `echo $$ > ${dir}/pids; exec sleep 30`],
      compactTimeoutSeconds: 90,
      clock,
    });
    const compaction = executor.compact?.(new AbortController().signal);
    const [pid = 0] = await pidsIn(`${dir}/pids`);
    await clock.advance(90_000);
    expect(await compaction).toEqual({ outcome: 'Failed', reason: 'compaction: timed out after 90s' });
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('stops the compact command when the signal aborts', async () => {
    const abort = new AbortController();
    const executor = new CommandExecutor({ command: ['cat'], compactCommand: ['sh', '-c', `echo $$ > ${dir}/pids; exec sleep 30`] });
    const compaction = executor.compact?.(abort.signal);
    const [pid = 0] = await pidsIn(`${dir}/pids`);
    abort.abort();
    expect(await compaction).toEqual({ outcome: 'Failed', reason: 'compaction: cancelled by the runner' });
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('refuses an empty compact command', () => {
    expect(() => new CommandExecutor({ command: ['cat'], compactCommand: [] })).toThrow(/compactCommand must name a program/);
  });
});
