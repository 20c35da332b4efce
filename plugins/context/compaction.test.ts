import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compactionStep, RUNNER_REASONS, type CompactionInput } from './compaction.ts';

const NOW = 1_800_000_000_000;
const base: CompactionInput = {
  now: NOW,
  windowTokens: 8000,
  compactAtPercent: 80,
  tokens: 0,
  percent: 0,
  activeTasks: 0,
  compactTimeoutMs: 300_000,
  recycleTimeoutMs: 600_000,
};
const at = (percent: number, fields: Partial<CompactionInput> = {}): CompactionInput => ({
  ...base,
  percent,
  tokens: (percent * 8000) / 100,
  ...fields,
});
const cond = (status: 'True' | 'False', reason: string, sinceAgoMs = 0, message = 'm'): NonNullable<CompactionInput['condition']> => ({
  status,
  reason,
  message,
  since: NOW - sinceAgoMs,
});
const summary = (i: CompactionInput): string => {
  const s = compactionStep(i);
  return [
    s.condition && `${s.condition.status}/${s.condition.reason}`,
    s.event && `event:${s.event.reason}`,
    s.restart !== undefined && 'restart',
    s.requeueAfterMs !== undefined && `requeue:${s.requeueAfterMs}`,
  ]
    .filter(Boolean)
    .join(' ');
};

describe('compactionStep', () => {
  it.each([
    ['below the threshold: nothing', at(79), ''],
    ['at the threshold, busy: drain first', at(80, { activeTasks: 2 }), 'True/Draining event:ContextCompactionStarted'],
    ['at the threshold, idle: compact at once', at(95), 'True/Compacting event:ContextCompactionStarted'],
    ['draining, tasks still running', at(85, { activeTasks: 1, condition: cond('True', 'Draining') }), ''],
    ['draining, drained', at(85, { condition: cond('True', 'Draining') }), 'True/Compacting'],
    ['compacting, within the timeout', at(85, { condition: cond('True', 'Compacting', 100_000) }), 'requeue:200000'],
    [
      'compacting past the timeout: recycle',
      at(85, { condition: cond('True', 'Compacting', 300_000) }),
      'True/Recycling event:ContextRecycling restart requeue:600000',
    ],
    [
      'the runner cannot compact: recycle',
      at(85, { condition: cond('True', RUNNER_REASONS.cannot) }),
      'True/Recycling event:ContextRecycling restart requeue:600000',
    ],
    ['recycling, waiting for the new runner', at(85, { condition: cond('True', 'Recycling', 1000) }), 'requeue:599000'],
    [
      'recycling past the timeout: give up, route again',
      at(85, { condition: cond('True', 'Recycling', 600_000) }),
      'False/CompactionFailed event:ContextCompactionFailed',
    ],
    ['the runner compacted', at(10, { condition: cond('True', RUNNER_REASONS.compacted) }), 'False/Compacted event:ContextCompacted'],
    ['the runner came back recycled', at(3, { condition: cond('True', RUNNER_REASONS.recycled) }), 'False/Recycled event:ContextCompacted'],
    ['done, below the threshold: nothing', at(10, { condition: cond('False', 'Compacted') }), ''],
    [
      'done, but the usage is back up: a new cycle',
      at(90, { condition: cond('False', 'Compacted') }),
      'True/Compacting event:ContextCompactionStarted',
    ],
  ])('%s', (_name, input, expected) => {
    expect(summary(input)).toBe(expected);
  });

  it('explains the start and the end in words a user can act on', () => {
    expect(compactionStep(at(85, { activeTasks: 2 })).condition?.message).toBe(
      'context at 85% of 8000 tokens (spec.context.compactAtPercent 80): no new tasks; the runner compacts once the 2 running task(s) finish',
    );
    expect(compactionStep(at(12, { condition: cond('True', RUNNER_REASONS.compacted, 0, '6800 -> 960 tokens') })).event?.message).toBe(
      'compacted by the agent: 6800 -> 960 tokens; context now 12% of 8000 tokens',
    );
    expect(compactionStep(at(85, { condition: cond('True', RUNNER_REASONS.cannot, 0, 'no RUNNER_COMPACT_COMMAND') })).restart).toBe(
      'the agent cannot compact itself (no RUNNER_COMPACT_COMMAND): recycling it (restarted with a fresh context, seeded with the summary its runner saved)',
    );
  });

  it('restarts an agent only on the way into Recycling, never while it recycles: one restart per cycle', () => {
    const reasons = [
      'Draining',
      'Compacting',
      'Recycling',
      RUNNER_REASONS.cannot,
      RUNNER_REASONS.compacted,
      RUNNER_REASONS.recycled,
      'Compacted',
      'Recycled',
      'CompactionFailed',
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.nat(5),
        fc.constantFrom(...reasons),
        fc.boolean(),
        fc.nat(2_000_000),
        (percent, active, reason, open, ago) => {
          const step = compactionStep(at(percent, { activeTasks: active, condition: cond(open ? 'True' : 'False', reason, ago) }));
          if (step.restart !== undefined) expect(step.condition).toMatchObject({ status: 'True', reason: 'Recycling' });
          if (open && reason === 'Recycling') expect(step.restart).toBeUndefined();
          // A cycle never starts while tasks run on the agent without draining first.
          if (!open && step.condition?.reason === 'Compacting') expect(active).toBe(0);
        },
      ),
    );
  });
});
