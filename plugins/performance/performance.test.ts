import { describe, expect, it } from 'vitest';
import type { Intent, NamespaceSnapshot, PolicyObject, TaskObject } from '../../operator/src/framework/index.ts';
import { performancePlugin } from './index.ts';

const T0 = Date.parse('2026-11-30T12:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const policy = (reason?: string): PolicyObject =>
  ({
    metadata: { name: 'default', namespace: 'ns', uid: 'p' },
    spec: {},
    ...(reason
      ? { status: { conditions: [{ type: 'Bottleneck', status: 'False', reason, message: 'm', lastTransitionTime: iso(T0) }] } }
      : {}),
  }) as unknown as PolicyObject;
const task = (waitedFrom: number): TaskObject =>
  ({
    metadata: { name: 't', namespace: 'ns', uid: 't' },
    spec: { requiredCapabilities: ['gpu'] },
    status: { phase: 'Pending', queuedAt: iso(waitedFrom) },
  }) as unknown as TaskObject;
const snapshot = (now: number, p: PolicyObject): NamespaceSnapshot => ({
  now,
  namespace: 'ns',
  policy: p,
  agents: [],
  tasks: [task(T0 - 30_000)],
});
const messageOf = (intents: readonly Intent[]): string | undefined => {
  const c = intents.find((i) => i.kind === 'condition');
  return c?.kind === 'condition' ? c.condition.message : undefined;
};

describe('performance onTick', () => {
  it('reports once per period: between two reports it repeats the last (no rewrite as waits grow), and says a change of reason once', () => {
    const lifecycle = performancePlugin.create({ periodSeconds: 60 }).lifecycle;
    const first = lifecycle?.onTick?.(snapshot(T0, policy('NoBottleneck'))) ?? [];
    expect(messageOf(first)).toMatch(/^gpu tasks are the constraint: 1 wait, on average 30s/);
    expect(first.filter((i) => i.kind === 'event')).toMatchObject([{ type: 'Warning', reason: 'QueueConstrained' }]);
    expect(first).toContainEqual({ kind: 'requeue', afterMs: 60_000 });
    expect(first).toContainEqual(
      expect.objectContaining({ kind: 'metric', name: 'performance_queue_wait_seconds', labels: { capability: 'gpu' }, value: 30 }),
    );

    const later = lifecycle?.onTick?.(snapshot(T0 + 20_000, policy('NoBottleneck'))) ?? [];
    expect(messageOf(later)).toBe(messageOf(first));
    expect(later.filter((i) => i.kind === 'event')).toEqual([]);
    expect(later).toContainEqual({ kind: 'requeue', afterMs: 40_000 });

    const next = lifecycle?.onTick?.(snapshot(T0 + 60_000, policy('QueueConstrained'))) ?? [];
    expect(messageOf(next)).toMatch(/on average 90s/);
  });
});
