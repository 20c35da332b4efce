import { describe, expect, it } from 'vitest';
import { agentStatus } from '../operator/src/api/agent.ts';
import { RECENT_OUTCOMES } from '../operator/src/api/names.ts';
import { withRecent } from './outcomes.ts';
import type { FinishedRun } from './task-runner.ts';

const run = (task: string, attempt = 1): FinishedRun => ({
  task,
  attempt,
  capabilities: 'go',
  durationMs: 1200,
  completedAt: '2026-11-30T10:00:00.123Z',
});

describe('withRecent', () => {
  it('appends the attempt with its outcome', () => {
    expect(withRecent(undefined, run('a'), 'Failed')).toEqual([{ ...run('a'), outcome: 'Failed' }]);
  });

  it(`keeps the newest ${RECENT_OUTCOMES}, oldest first`, () => {
    let recent = withRecent(undefined, run('t0'), 'Succeeded');
    for (let i = 1; i < RECENT_OUTCOMES + 5; i++) recent = withRecent(recent, run(`t${i}`), 'Succeeded');
    expect(recent.map((r) => r.task)).toEqual(Array.from({ length: RECENT_OUTCOMES }, (_, i) => `t${i + 5}`));
  });

  it('counts an attempt once: a retried write replaces it, another attempt of the task is its own', () => {
    const once = withRecent(withRecent(undefined, run('a'), 'Succeeded'), run('a'), 'Succeeded');
    expect(once).toHaveLength(1);
    expect(withRecent(once, run('a', 2), 'Failed').map((r) => `${r.task}#${r.attempt}`)).toEqual(['a#1', 'a#2']);
  });

  it('fits the Agent schema for the largest task: 32 capabilities of 63 characters', () => {
    const capabilities = Array.from({ length: 32 }, (_, i) => `${String(i).padStart(2, '0')}${'c'.repeat(61)}`).join(',');
    const recent = Array.from({ length: RECENT_OUTCOMES }, (_, i) => ({ ...run(`t${i}`), capabilities, outcome: 'Succeeded' as const }));
    expect(agentStatus.safeParse({ stats: { recent } }).success).toBe(true);
  });
});
