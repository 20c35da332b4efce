import { describe, expect, it } from 'vitest';
import { byUrgency, reportNeed } from './pending-reports.ts';

const REFRESH = 10_000;
const NOW = 100_000;
const next = { message: '0/3 agents can run it: 3 busy', kinds: 'busy' };

describe('reportNeed', () => {
  it.each([
    ['already says it', { phase: 'Pending', message: next.message }, undefined, undefined],
    ['never reported', {}, undefined, { rank: 0, since: 0 }],
    ['never reported, its first write failed a while ago', {}, { kinds: 'busy', at: NOW - REFRESH }, { rank: 0, since: NOW - REFRESH }],
    ['another kind of reason', { phase: 'Pending', message: 'x' }, { kinds: 'sleeping', at: NOW - 1 }, { rank: 1, since: NOW - 1 }],
    ['not written by this router', { phase: 'Pending', message: 'x' }, undefined, { rank: 1, since: 0 }],
    ['counts moved, just written', { phase: 'Pending', message: 'x' }, { kinds: 'busy', at: NOW - 1 }, undefined],
    [
      'counts moved, written long ago',
      { phase: 'Pending', message: 'x' },
      { kinds: 'busy', at: NOW - REFRESH },
      { rank: 2, since: NOW - REFRESH },
    ],
  ])('%s', (_name, task, last, want) => {
    expect(reportNeed(task, next, last, NOW, REFRESH)).toEqual(want);
  });

  it('orders first reports, then new reasons, then the longest unrefreshed counts', () => {
    const needs = [
      { rank: 2 as const, since: 5 },
      { rank: 1 as const, since: 9 },
      { rank: 2 as const, since: 1 },
      { rank: 0 as const, since: 7 },
    ];
    expect(needs.sort(byUrgency)).toEqual([
      { rank: 0, since: 7 },
      { rank: 1, since: 9 },
      { rank: 2, since: 1 },
      { rank: 2, since: 5 },
    ]);
  });
});
