import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { logText, tailOf } from './container-logs.ts';
import { dockerTime, endedInFailure, statusOf } from './container-status.ts';

const ZERO = '0001-01-01T00:00:00Z';
type State = Docker.ContainerInspectInfo['State'];

function inspected(
  state: Partial<State>,
  labels: Record<string, string> | null = { 'agents.orchestrator.dev/spec-hash': 'h1' },
): Docker.ContainerInspectInfo {
  const base: State = {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: ZERO,
    FinishedAt: ZERO,
  };
  // Only the fields statusOf reads; the rest of an inspect answer does not matter here.
  return {
    Id: 'c0ffee',
    Name: '/ao.ns.agent',
    RestartCount: 2,
    State: { ...base, ...state },
    Config: { Labels: labels, User: '' },
  } as unknown as Docker.ContainerInspectInfo;
}

const started = '2026-01-02T03:04:05.123456789Z';
const finished = '2026-01-02T03:05:00Z';

describe('statusOf', () => {
  it.each([
    ['created', {}, { phase: 'Pending' }],
    ['running', { Status: 'running', Running: true, StartedAt: started }, { phase: 'Running', startedAt: Date.parse(started) }],
    ['restarting', { Status: 'restarting', Restarting: true }, { phase: 'Running' }],
    [
      'exited 0',
      { Status: 'exited', ExitCode: 0, StartedAt: started, FinishedAt: finished },
      {
        phase: 'Exited',
        exitCode: 0,
        reason: 'Completed',
        startedAt: Date.parse(started),
        finishedAt: Date.parse(finished),
        lastExit: { reason: 'Completed', exitCode: 0, finishedAt: Date.parse(finished) },
      },
    ],
    [
      'OOM killed, with its end time: kept as the last exit',
      { Status: 'exited', ExitCode: 137, OOMKilled: true, FinishedAt: finished },
      {
        phase: 'Exited',
        exitCode: 137,
        reason: 'OOMKilled',
        finishedAt: Date.parse(finished),
        lastExit: { reason: 'OOMKilled', exitCode: 137, finishedAt: Date.parse(finished) },
      },
    ],
    ['exited 1', { Status: 'exited', ExitCode: 1 }, { phase: 'Exited', exitCode: 1, reason: 'Error' }],
    ['OOM killed', { Status: 'exited', ExitCode: 137, OOMKilled: true }, { phase: 'Exited', exitCode: 137, reason: 'OOMKilled' }],
    ['dead', { Status: 'dead', Dead: true, ExitCode: 255 }, { phase: 'Exited', exitCode: 255, reason: 'Error' }],
    ['removing', { Status: 'removing' }, { phase: 'Unknown', reason: 'Removing' }],
    [
      'a failed start',
      { Status: 'created', Error: 'exec: "nope": executable file not found in $PATH' },
      { phase: 'Pending', reason: 'StartError', message: 'exec: "nope": executable file not found in $PATH' },
    ],
  ])('%s', (_, state, expected) => {
    expect(statusOf(inspected(state))).toEqual({
      kind: 'Container',
      name: 'ao.ns.agent',
      id: 'c0ffee',
      restarts: 2,
      specHash: 'h1',
      ...expected,
    });
  });

  it('puts the end of the output of a failed exit in the message, after the engine error, within 1 KiB', () => {
    const output = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n';
    const status = statusOf(inspected({ Status: 'exited', ExitCode: 1, Error: 'boom' }), output);
    expect(status.message?.startsWith('boom\nline ')).toBe(true);
    expect(status.message?.endsWith('\nline 99')).toBe(true);
    expect(Buffer.byteLength(status.message ?? '')).toBeLessThanOrEqual(1024);
    expect(statusOf(inspected({ Status: 'exited', ExitCode: 1 }), 'only this\n').message).toBe('only this');
  });

  it('ignores output for a container that is not exited, and works without labels', () => {
    const status = statusOf(inspected({ Status: 'running', Running: true }, null), 'noise');
    expect(status.message).toBeUndefined();
    expect(status.specHash).toBeUndefined();
  });

  it('reads the restart request the container was made under: none is 0, no label says nothing', () => {
    const running = { Status: 'running', Running: true, StartedAt: started };
    expect(statusOf(inspected(running, { 'agents.orchestrator.dev/restartedAt': '' })).restartRequest).toBe(0);
    expect(statusOf(inspected(running, { 'agents.orchestrator.dev/restartedAt': '2026-01-02T03:00:00Z' })).restartRequest).toBe(
      Date.parse('2026-01-02T03:00:00Z'),
    );
    expect(statusOf(inspected(running)).restartRequest).toBeUndefined();
  });

  it('says which containers ended in failure', () => {
    expect(endedInFailure(inspected({ Status: 'exited', ExitCode: 1 }))).toBe(true);
    expect(endedInFailure(inspected({ Status: 'exited', ExitCode: 0, OOMKilled: true }))).toBe(true);
    expect(endedInFailure(inspected({ Status: 'exited', ExitCode: 0 }))).toBe(false);
    expect(endedInFailure(inspected({ Status: 'running', Running: true }))).toBe(false);
  });
});

describe('dockerTime', () => {
  it('reads RFC 3339 with nanoseconds, and treats the zero time as never', () => {
    expect(dockerTime(started)).toBe(Date.UTC(2026, 0, 2, 3, 4, 5, 123));
    expect(dockerTime(ZERO)).toBeUndefined();
    expect(dockerTime('')).toBeUndefined();
    expect(dockerTime(undefined)).toBeUndefined();
  });
});

describe('logText', () => {
  const frame = (stream: number, text: string): Buffer => {
    const payload = Buffer.from(text);
    const header = Buffer.alloc(8);
    header[0] = stream;
    header.writeUInt32BE(payload.length, 4);
    return Buffer.concat([header, payload]);
  };

  it('joins stdout and stderr frames in the order they were written', () => {
    expect(logText(Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err\n'), frame(1, 'out 2\n')]))).toBe('out 1\nerr\nout 2\n');
  });

  it('returns the log of a TTY container as it is', () => {
    expect(logText(Buffer.from('plain text output\n'))).toBe('plain text output\n');
  });
});

describe('tailOf', () => {
  it.each([
    ['short\n', 100, 'short'],
    ['one\ntwo\nthree\n', 9, 'three'],
    ['one\ntwo\nthree', 10, 'two\nthree'],
    ['abcdefghij', 4, 'ghij'],
    ['ééé', 3, 'é'],
    ['anything', 0, ''],
  ])('%j in %d bytes is %j', (text, max, expected) => {
    expect(tailOf(text, max)).toBe(expected);
  });
});
