import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { POOL_LABEL } from '../../operator/src/api/names.ts';
import type { AgentObject, NamespaceSnapshot, PolicyObject, TaskObject } from '../../operator/src/framework/index.ts';
import { bottleneckOf, describeReport, seconds } from './bottleneck.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');
const SETTINGS = { minWaitSeconds: 10, slowRatio: 1.5 };

function pending(name: string, capabilities: string[], waitedS: number): TaskObject {
  return {
    metadata: { name, namespace: 'ns', uid: name },
    spec: { requiredCapabilities: capabilities },
    status: { phase: 'Pending', queuedAt: iso(NOW - waitedS * 1000) },
  } as unknown as TaskObject;
}

function agentOf(
  name: string,
  o: {
    capabilities?: string[];
    phase?: NonNullable<AgentObject['status']>['phase'];
    active?: number;
    slots?: number;
    pool?: string;
    durations?: Record<string, number[]>;
  } = {},
): AgentObject {
  const recent = Object.entries(o.durations ?? {}).flatMap(([kind, ds]) =>
    ds.map((d, i) => ({
      task: `${name}-${kind}-${i}`,
      attempt: 1,
      capabilities: kind,
      durationMs: d,
      outcome: 'Succeeded' as const,
      completedAt: iso(NOW - 1000),
    })),
  );
  return {
    metadata: { name, namespace: 'ns', uid: name, ...(o.pool ? { labels: { [POOL_LABEL]: o.pool } } : {}) },
    spec: {
      capabilities: o.capabilities ?? ['review'],
      runtime: { type: 'kubernetes', image: 'img' },
      maxConcurrentTasks: o.slots ?? 1,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
    },
    status: { phase: o.phase ?? 'Busy', activeTasks: o.active ?? 1, stats: { succeeded: 0, failed: 0, consecutiveFailures: 0, recent } },
  };
}

const policyWith = (pools: { name: string; maxAgents: number; capabilities: string[]; targetPendingPerAgent?: number }[]): PolicyObject =>
  ({
    metadata: { name: 'default', namespace: 'ns', uid: 'p' },
    spec: {
      autoscaling: {
        pools: pools.map((p) => ({
          name: p.name,
          maxAgents: p.maxAgents,
          minAgents: 0,
          targetPendingPerAgent: p.targetPendingPerAgent ?? 1,
          template: { capabilities: p.capabilities },
        })),
      },
    },
  }) as unknown as PolicyObject;

const snap = (tasks: TaskObject[], agents: AgentObject[], policy?: PolicyObject): NamespaceSnapshot => ({
  now: NOW,
  namespace: 'ns',
  policy,
  agents,
  tasks,
});
const waiting = (n: number, capability: string, waitedS: number): TaskObject[] =>
  Array.from({ length: n }, (_, i) => pending(`${capability}-${i}`, [capability], waitedS));

describe('bottleneckOf', () => {
  it('names the queue with the most waiting, the pool at its maximum, and how far to raise it', () => {
    const agents = Array.from({ length: 4 }, (_, i) => agentOf(`r${i}`, { pool: 'reviewers' }));
    const report = bottleneckOf(
      snap(
        [...waiting(30, 'review', 40), ...waiting(2, 'docs', 100)],
        [...agents, agentOf('d', { capabilities: ['docs'], phase: 'Ready', active: 0 })],
        policyWith([{ name: 'reviewers', maxAgents: 4, capabilities: ['review'], targetPendingPerAgent: 3 }]),
      ),
      SETTINGS,
    );
    expect(report.constraint).toMatchObject({ capability: 'review', waiting: 30, meanWaitS: 40, agents: 4, ready: 4, busyPercent: 100 });
    expect(report.poolsAtMax.map((p) => p.name)).toEqual(['reviewers']);
    expect(describeReport(report, SETTINGS)).toEqual({
      status: 'True',
      reason: 'QueueConstrained',
      message:
        'review tasks are the constraint: 30 wait, on average 40s (oldest 40s); 4 of 4 agents offering it Ready, 100% of their slots busy. Recommendation: raise reviewers maxAgents to 14: 30 review tasks wait on average 40s; pools at their maximum: reviewers (4)',
    });
  });

  it.each([
    [
      'no agent offers it',
      [],
      undefined,
      'no agent offers gpu: add agents with it, or a pool whose template has it (5 gpu tasks wait on average 30s)',
    ],
    [
      'its agents are asleep',
      [agentOf('g', { capabilities: ['gpu'], phase: 'Sleeping', active: 0 })],
      undefined,
      '1 of 1 agents offering gpu are not Ready (asleep, starting or failing): 5 gpu tasks wait on average 30s',
    ],
    [
      'its agents are all busy, no pool for it',
      [agentOf('g', { capabilities: ['gpu'], slots: 2, active: 2 })],
      undefined,
      'every agent offering gpu is busy (100% of slots): add agents with it, or a pool for it (5 gpu tasks wait on average 30s)',
    ],
    [
      'its pool can still grow',
      [agentOf('g', { capabilities: ['gpu'], pool: 'gpus' })],
      policyWith([{ name: 'gpus', maxAgents: 3, capabilities: ['gpu'] }]),
      'pool gpus can still grow yet 5 gpu tasks wait on average 30s: check its scaleUp settings and why its new agents do not become Ready',
    ],
  ] as [string, AgentObject[], PolicyObject | undefined, string][])('recommends when %s', (_name, agents, policy, recommendation) => {
    expect(bottleneckOf(snap(waiting(5, 'gpu', 30), agents, policy), SETTINGS).recommendation).toBe(recommendation);
  });

  it('reports no bottleneck while waits are short, and still lists the slowest agents', () => {
    const agents = [
      agentOf('a', { durations: { review: [1000, 1100, 900] } }),
      agentOf('b', { durations: { review: [1000, 1050, 950] } }),
      agentOf('c', { durations: { review: [3000, 3100, 2900] } }),
      agentOf('d', { durations: { review: [5000, 5000] } }),
    ];
    const report = bottleneckOf(snap(waiting(3, 'review', 5), agents), SETTINGS);
    expect(report.constraint).toBeUndefined();
    expect(report.slowest).toEqual([{ agent: 'c', kind: 'review', ratio: 3000 / 1000 }]);
    expect(describeReport(report, SETTINGS)).toEqual({
      status: 'False',
      reason: 'NoBottleneck',
      message: "no queue waits 10s or more on average; slowest agents: c (3.0x the fleet's median on review tasks)",
    });
  });

  it.each([
    [3, '3s'],
    [41, '40s'],
    [43, '45s'],
    [119, '2m'],
    [125, '2m5s'],
    [600, '10m'],
  ])('rounds %ds of waiting to %s, so the message holds while a wait grows by seconds', (s, text) => {
    expect(seconds(s)).toBe(text);
  });
});

describe('bottleneckOf, properties', () => {
  const CAPS = ['a', 'b', 'c', 'd'];
  const queueArb = fc.array(fc.record({ capability: fc.constantFrom(...CAPS), waitedS: fc.integer({ min: 0, max: 600 }) }), {
    maxLength: 60,
  });

  it('the constraint holds the most task-seconds of waiting among queues waiting minWaitSeconds on average, and the recommendation names it', () => {
    fc.assert(
      fc.property(queueArb, fc.integer({ min: 0, max: 4 }), (raw, agents) => {
        const tasks = raw.map((t, i) => pending(`t${i}`, [t.capability], t.waitedS));
        const report = bottleneckOf(
          snap(
            tasks,
            Array.from({ length: agents }, (_, i) => agentOf(`x${i}`, { capabilities: CAPS })),
          ),
          SETTINGS,
        );
        const byCap = CAPS.map((c) => raw.filter((t) => t.capability === c).map((t) => t.waitedS)).filter((w) => w.length > 0);
        const eligible = byCap.filter((w) => w.reduce((a, b) => a + b, 0) / w.length >= SETTINGS.minWaitSeconds);
        if (eligible.length === 0) return report.constraint === undefined && report.recommendation === undefined;
        const best = Math.max(...eligible.map((w) => w.reduce((a, b) => a + b, 0)));
        const c = report.constraint;
        return c !== undefined && Math.abs(c.waiting * c.meanWaitS - best) < 1e-6 && (report.recommendation ?? '').includes(c.capability);
      }),
    );
  });
});
