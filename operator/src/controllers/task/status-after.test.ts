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

describe('statusAfter: the cost of a task that ends', () => {
  const succeeded = (usage: Record<string, unknown>): KubeObject => ({
    ...running('20', 1),
    status: { phase: 'Succeeded', attempts: 1, usage },
  });
  const finish: TaskDecision = { phase: 'Succeeded', set: { completedAt: Date.parse('2026-12-01T00:00:00Z') }, routable: false };
  const pricing = { currency: 'EUR', prices: [{ model: 'm', inputPerMillion: 2, outputPerMillion: 8 }] };
  const usage = { inputTokens: 500_000, outputTokens: 250_000, cachedTokens: 0, model: 'm', durationMs: 10 };

  it('is priced once, as the task ends, in the policy currency', () => {
    const task = succeeded(usage);
    expect(statusAfter(task, finish, task, 0, pricing)?.usage).toEqual({ ...usage, cost: 3, currency: 'EUR' });
  });

  it('stays unpriced for a model the table does not list, and when nothing ends', () => {
    const task = succeeded({ ...usage, model: 'other' });
    expect(statusAfter(task, finish, task, 0, pricing)?.usage).toEqual({ ...usage, model: 'other' });
    const retry: TaskDecision = { phase: 'Pending', set: {}, routable: true };
    expect(statusAfter(succeeded(usage), retry, succeeded(usage), 0, pricing)?.usage).toEqual(usage);
  });
});

describe('statusAfter: a history reason within the schema’s bound', () => {
  it.each([
    ['a short reason is kept', 'exit code 1', 'exit code 1'],
    ['a reason quoting a huge Lease holder is cut to 1024 characters', `held by ${'x'.repeat(5000)}`, `held by ${'x'.repeat(1015)}…`],
  ])('%s', (_what, reason, want) => {
    const decision: TaskDecision = { ...handBack, append: { agent: 'a', outcome: 'Lost', time: '2026-11-30T00:00:00Z', reason } };
    const status = statusAfter(running('10', 1), decision, running('10', 1), 0) as { history: { reason: string }[] };
    expect(status.history.at(-1)?.reason).toBe(want);
    expect(status.history.at(-1)?.reason.length).toBeLessThanOrEqual(1024);
  });
});
