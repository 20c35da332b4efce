import { describe, expect, it } from 'vitest';
import type { TaskDecision } from '../../core/task-lifecycle.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { statusAfter } from './status-after.ts';

const running = (rv: string, attempt: number, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'agents.orchestrator.dev/v1alpha1',
  kind: 'Task',
  metadata: { name: 't', namespace: 'ns', resourceVersion: rv, generation: 1 },
  status: { phase: 'Running', attempts: attempt, assignment: { agent: 'a', attempt, claimedBy: `a_${String(attempt)}` }, ...extra },
});

// The runner of attempt 1 is gone: hand the attempt back.
const handBack: TaskDecision = {
  phase: 'Pending',
  set: { assignment: null },
  append: { agent: 'a', outcome: 'Lost', time: '2026-11-30T00:00:00Z' },
  routable: true,
};

describe('statusAfter: what a decision writes, and onto which copy', () => {
  it.each([
    {
      name: 'the copy it was decided on',
      fresh: running('10', 1),
      phase: 'Pending',
    },
    {
      name: 'a newer copy of the same attempt (a runner only touched another field)',
      fresh: running('11', 1, { message: 'still running' }),
      phase: 'Pending',
    },
    {
      // The race CI caught: the hand-back of attempt 1 written onto attempt 2.
      name: 'a newer copy Running again, on the next attempt',
      fresh: running('12', 2),
      phase: undefined,
    },
    {
      name: 'a newer copy whose phase moved on',
      fresh: { ...running('13', 1), status: { phase: 'Succeeded', attempts: 1 } },
      phase: undefined,
    },
  ])('onto $name', ({ fresh, phase }) => {
    const written = statusAfter(running('10', 1), handBack, fresh, Date.parse('2026-11-30T00:00:05Z'));
    expect(written?.phase).toBe(phase);
    if (written) {
      expect(written.assignment).toBeUndefined();
      expect(written.history?.map((h) => h.outcome)).toEqual(['Lost']);
      expect(written.observedGeneration).toBe(1);
      // Fields the decision does not set are the fresh copy's.
      expect((written as Record<string, unknown>).message).toBe((fresh.status as Record<string, unknown>).message);
    }
  });
});
