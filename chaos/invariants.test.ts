import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  everyFaultRecovered,
  exactlyOneTerminal,
  FAILED_ATTEMPT,
  finalPhase,
  noFencedOutResult,
  noOrphanWorkloads,
  noOverlappingAttempts,
  recoveryTable,
  staleExecutions,
  type FinalTask,
  type JournalWrite,
} from './invariants.ts';

const w = (
  task: string,
  attempt: number,
  runner: string,
  kind: JournalWrite['kind'],
  at: number,
  accepted = true,
  phase?: string,
): JournalWrite => ({
  task,
  attempt,
  runner,
  kind,
  at,
  accepted,
  ...(phase ? { phase } : {}),
});
const done = (name: string, attempt: number, claimedBy: string, phase = 'Succeeded'): FinalTask => ({
  name,
  phase,
  attempt,
  claimedBy,
  resultAttempt: attempt,
});

describe('exactlyOneTerminal', () => {
  it.each<[string, FinalTask[], Record<string, string[]>, JournalWrite[], number]>([
    [
      'a task that succeeded once',
      [done('t', 1, 'a_1')],
      { t: ['Pending', 'Assigned', 'Running', 'Succeeded'] },
      [w('t', 1, 'a_1', 'result', 5)],
      0,
    ],
    ['a task left Running', [{ ...done('t', 1, 'a_1'), phase: 'Running' }], {}, [], 1],
    ['a task without a status', [{ ...done('t', 1, 'a_1'), phase: undefined }], {}, [], 1],
    ['a terminal task seen Running again', [done('t', 2, 'b_1')], { t: ['Succeeded', 'Running', 'Succeeded'] }, [], 1],
    ['the same terminal phase seen twice (a relist)', [done('t', 1, 'a_1')], { t: ['Succeeded', 'Succeeded'] }, [], 0],
    ['two results accepted', [done('t', 2, 'b_1')], {}, [w('t', 1, 'a_1', 'result', 5), w('t', 2, 'b_1', 'result', 9)], 1],
    ['a rejected second result', [done('t', 2, 'b_1')], {}, [w('t', 1, 'a_1', 'result', 5, false), w('t', 2, 'b_1', 'result', 9)], 0],
  ])('%s', (_what, tasks, observed, journal, violations) => {
    const v = exactlyOneTerminal(tasks, new Map(Object.entries(observed)), journal);
    expect(v.violations).toHaveLength(violations);
    expect(v.checked).toBe(tasks.length);
  });
});

describe('noOverlappingAttempts', () => {
  it.each<[string, JournalWrite[], number]>([
    ['one attempt', [w('t', 1, 'a', 'claim', 1), w('t', 1, 'a', 'result', 3)], 0],
    [
      'a handed-back attempt, then the next',
      [w('t', 1, 'a', 'claim', 1), w('t', 1, 'b', 'handback', 4), w('t', 2, 'b', 'claim', 6), w('t', 2, 'b', 'result', 8)],
      0,
    ],
    [
      'a stale result accepted after the next claim',
      [w('t', 1, 'a', 'claim', 1), w('t', 2, 'b', 'claim', 6), w('t', 1, 'a', 'result', 7), w('t', 2, 'b', 'result', 8)],
      1,
    ],
    ['a stale result rejected', [w('t', 1, 'a', 'claim', 1), w('t', 2, 'b', 'claim', 6), w('t', 1, 'a', 'result', 7, false)], 0],
    ['an older attempt claimed after a newer one', [w('t', 2, 'b', 'claim', 1), w('t', 1, 'a', 'claim', 6)], 1],
    [
      'writes given out of order are sorted by time',
      [w('t', 1, 'a', 'result', 3), w('t', 1, 'a', 'claim', 1), w('t', 2, 'b', 'claim', 4)],
      0,
    ],
    ['a result without its claim in the journal', [w('t', 1, 'a', 'result', 3)], 0],
  ])('%s', (_what, journal, violations) => {
    expect(noOverlappingAttempts(journal).violations).toHaveLength(violations);
  });

  it('holds for any sequence of attempts that each end before the next is claimed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 50 }), fc.boolean()), { maxLength: 12 }),
        (steps) => {
          const journal: JournalWrite[] = [];
          let t = 0;
          steps.forEach(([gap, length, finished], i) => {
            t += gap;
            journal.push(w('t', i + 1, `r${i}`, 'claim', t));
            t += length;
            journal.push(w('t', i + 1, `r${i}`, finished ? 'result' : 'handback', t));
          });
          return noOverlappingAttempts(journal).violations.length === 0;
        },
      ),
    );
  });

  it('catches any accepted write of an attempt after a later attempt was claimed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 1000 }),
        (claim1, gap, late) => {
          const claim2 = claim1 + gap;
          const journal = [w('t', 1, 'a', 'claim', claim1), w('t', 2, 'b', 'claim', claim2), w('t', 1, 'a', 'result', claim2 + late)];
          return noOverlappingAttempts(journal).violations.length === 1;
        },
      ),
    );
  });
});

describe('noFencedOutResult', () => {
  it.each<[string, FinalTask[], JournalWrite[], number]>([
    ['the final attempt wrote the result', [done('t', 2, 'b')], [w('t', 2, 'b', 'result', 5, true, 'Succeeded')], 0],
    ['an older attempt wrote it', [done('t', 2, 'b')], [w('t', 1, 'a', 'result', 5, true, 'Succeeded')], 1],
    ['the right attempt from another process', [done('t', 2, 'b')], [w('t', 2, 'c', 'result', 5, true, 'Succeeded')], 1],
    ['a rejected write from an older attempt', [done('t', 2, 'b')], [w('t', 1, 'a', 'result', 5, false, 'Succeeded')], 0],
    ['a result phase the task does not end in', [done('t', 2, 'b', 'Failed')], [w('t', 2, 'b', 'result', 5, true, 'Succeeded')], 1],
    ['an output naming another attempt', [{ ...done('t', 2, 'b'), resultAttempt: 1 }], [], 1],
    ['a result for a task that is gone', [], [w('t', 1, 'a', 'result', 5)], 1],
  ])('%s', (_what, tasks, journal, violations) => {
    expect(noFencedOutResult(tasks, journal).violations).toHaveLength(violations);
  });
});

describe('noOrphanWorkloads', () => {
  it('names a workload whose Agent is gone, and counts what it looked at', () => {
    const v = noOrphanWorkloads(
      [
        { kind: 'Pod', name: 'agent-a', agent: 'a' },
        { kind: 'Container', name: 'ao-b', agent: 'b' },
      ],
      new Set(['a']),
      ['b', 'c'],
    );
    expect(v.violations).toEqual(['Container ao-b of agent b (deleted by the run) is still there']);
    expect(v.checked).toBe(4);
  });
});

describe('recovery', () => {
  const faults = [
    { kind: 'operator-kill', at: 0, recoveredMs: 3000 },
    { kind: 'etcd-restart', at: 1, recoveredMs: undefined },
    { kind: 'operator-kill', at: 2, recoveredMs: 1000 },
    { kind: 'operator-kill', at: 3, recoveredMs: 2000 },
  ];
  it('a fault that never recovered is a violation', () => {
    expect(everyFaultRecovered(faults).violations).toHaveLength(1);
  });
  it('tabulates p50 and max per kind', () => {
    expect(recoveryTable(faults)).toEqual([
      { fault: 'operator-kill', count: 3, p50Ms: 2000, maxMs: 3000 },
      { fault: 'etcd-restart', count: 1, p50Ms: undefined, maxMs: undefined },
    ]);
  });
});

describe('staleExecutions', () => {
  it('counts work that went on after a later attempt was claimed', () => {
    const journal = [w('t', 1, 'a', 'claim', 1), w('t', 2, 'b', 'claim', 5)];
    expect(
      staleExecutions(
        [
          { task: 't', attempt: 1, runner: 'a', start: 1, end: 9 },
          { task: 't', attempt: 2, runner: 'b', start: 5, end: 7 },
        ],
        journal,
      ),
    ).toBe(1);
    expect(staleExecutions([{ task: 't', attempt: 1, runner: 'a', start: 1, end: 4 }], journal)).toBe(0);
  });
});

describe('failed attempts that are retried', () => {
  it.each([
    ['Succeeded', undefined, 'Succeeded'],
    ['Failed', [{ type: 'Finished', status: 'True' }], 'Failed'],
    ['Failed', [{ type: 'Finished', status: 'False' }], FAILED_ATTEMPT],
    ['Failed', undefined, FAILED_ATTEMPT],
    [undefined, undefined, undefined],
  ])('finalPhase(%s, %j) is %s', (phase, conditions, expected) => {
    expect(finalPhase(phase, conditions)).toBe(expected);
  });

  it('a failed attempt, retried and then successful, breaks no invariant', () => {
    const tasks = [done('t', 2, 'b')];
    const journal = [
      w('t', 1, 'a', 'claim', 1),
      w('t', 1, 'a', 'result', 3, true, 'Failed'),
      w('t', 2, 'b', 'claim', 6),
      w('t', 2, 'b', 'result', 8, true, 'Succeeded'),
    ];
    const observed = new Map([['t', ['Pending', 'Running', FAILED_ATTEMPT, 'Pending', 'Running', 'Succeeded']]]);
    expect(exactlyOneTerminal(tasks, observed, journal).violations).toEqual([]);
    expect(noFencedOutResult(tasks, journal).violations).toEqual([]);
    expect(noOverlappingAttempts(journal).violations).toEqual([]);
  });

  it('a task that ends with a failed attempt still to retry is not terminal', () => {
    expect(exactlyOneTerminal([{ ...done('t', 1, 'a'), phase: FAILED_ATTEMPT }], new Map(), []).violations).toHaveLength(1);
  });
});
