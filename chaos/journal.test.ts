import { describe, expect, it } from 'vitest';
import { parseRunnerLog, type LogLine } from './journal.ts';

const line = (time: number, msg: string, fields: Record<string, unknown> = {}): LogLine => ({ time, msg, ...fields });

describe('parseRunnerLog', () => {
  // A container's log after a restart: the new process claims (informer events) before
  // it logs `runner ready`, while the old life's last task never ended.
  const lines = [
    line(1, 'runner ready', { identity: 'a_old' }),
    line(2, 'running', { task: 'ns/t1', attempt: 1, identity: 'a_old' }),
    line(3, 'running', { task: 'ns/t2', attempt: 1, identity: 'a_old' }),
    line(4, 'finished', { task: 'ns/t1', attempt: 1, identity: 'a_old', outcome: 'Succeeded' }),
    line(10, 'handed back an attempt of an earlier runner process', { task: 'ns/t2', attempt: 1, claimedBy: 'a_old' }),
    line(11, 'running', { task: 'ns/t3', attempt: 1, identity: 'a_new' }),
    line(12, 'runner ready', { identity: 'a_new' }),
    line(13, 'finished', { task: 'ns/t3', attempt: 1, identity: 'a_new', outcome: 'Failed' }),
    line(14, 'running', { task: 'ns/t4', attempt: 2 }),
    line(15, 'result dropped: the task was reassigned while it ran (fenced)', { task: 'ns/t4', attempt: 2, outcome: 'Succeeded' }),
  ];
  const { writes, executions } = parseRunnerLog(lines);

  it('names the process that wrote each line, before its `runner ready` too', () => {
    expect(writes.map((w) => [w.task, w.kind, w.runner, w.accepted])).toEqual([
      ['t1', 'claim', 'a_old', true],
      ['t2', 'claim', 'a_old', true],
      ['t1', 'result', 'a_old', true],
      ['t2', 'handback', 'a_old', true],
      ['t3', 'claim', 'a_new', true],
      ['t3', 'result', 'a_new', true],
      ['t4', 'claim', 'a_new', true],
      ['t4', 'result', 'a_new', false],
    ]);
  });

  it("ends each execution at its own process's last line, and leaves a dead life's open one without an end", () => {
    expect(executions.map((e) => [e.task, e.runner, e.start, e.end])).toEqual([
      ['t1', 'a_old', 2, 4],
      ['t2', 'a_old', 3, undefined],
      ['t3', 'a_new', 11, 13],
      ['t4', 'a_new', 14, 15],
    ]);
  });
});
