import { describe, expect, it } from 'vitest';
import { latestExit } from './agent-reconciler.ts';

const at = (iso: string): number => Date.parse(iso);

describe('latestExit', () => {
  const kept = { reason: 'Error', exitCode: 1, finishedAt: '2026-11-30T10:00:00Z' };
  it.each([
    ['nothing known', undefined, [], undefined],
    ['the status keeps its exit when the runtime forgot it (after a restart)', kept, [undefined], kept],
    [
      'a newer exit replaces it',
      kept,
      [{ reason: 'OOMKilled', exitCode: 137, finishedAt: at('2026-11-30T10:05:00.500Z') }],
      { reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-11-30T10:05:00Z' },
    ],
    ['an older one does not', kept, [{ reason: 'Completed', exitCode: 0, finishedAt: at('2026-11-30T09:00:00Z') }], kept],
    [
      'an exit code outside the schema is left out',
      undefined,
      [{ reason: 'Error', exitCode: 3221225477, finishedAt: at('2026-11-30T10:00:00Z') }],
      { reason: 'Error', finishedAt: '2026-11-30T10:00:00Z' },
    ],
  ] as [string, Parameters<typeof latestExit>[0], Parameters<typeof latestExit>[1][], unknown][])('%s', (_name, k, seen, expected) => {
    expect(latestExit(k, ...seen)).toEqual(expected);
  });
});
