import { describe, expect, it } from 'vitest';
import type { AgentObject, Intent, NamespaceSnapshot } from '../../operator/src/framework/index.ts';
import { performancePlugin } from './index.ts';
import { pressureOf } from './pressure.ts';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const SETTINGS = { memoryPercent: 90, cpuPercent: 90, staleMs: 300_000, oomWindowMs: 3_600_000 };

function agentWith(
  usage: { cpu: number; memoryMi: number; agoS?: number } | undefined,
  limits: { cpu?: string; memory?: string } | undefined,
  conditions?: { type: string; status: 'True' | 'False'; reason: string }[],
): AgentObject {
  return {
    metadata: { name: 'a', namespace: 'ns', uid: 'a' },
    spec: {
      capabilities: [],
      runtime: { type: 'docker', image: 'img', ...(limits ? { resources: { limits } } : {}) },
      maxConcurrentTasks: 1,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
    },
    status: {
      ...(usage
        ? {
            resources: {
              cpuMillicores: usage.cpu,
              memoryBytes: usage.memoryMi * 1048576,
              source: 'cgroup' as const,
              observedAt: new Date(NOW - (usage.agoS ?? 10) * 1000).toISOString().replace('.000Z', 'Z'),
            },
          }
        : {}),
      ...(conditions ? { conditions: conditions.map((c) => ({ ...c, message: 'm', lastTransitionTime: '2026-11-30T11:00:00Z' })) } : {}),
    },
  } as unknown as AgentObject;
}

describe('pressureOf', () => {
  it.each([
    ['no usage reported', undefined, { memory: '512Mi' }, undefined],
    ['no limits to compare with', { cpu: 900, memoryMi: 500 }, undefined, undefined],
    ['a stale report', { cpu: 100, memoryMi: 500, agoS: 600 }, { memory: '512Mi' }, undefined],
    [
      'memory at 92% of its limit',
      { cpu: 100, memoryMi: 470 },
      { memory: '512Mi', cpu: '1' },
      'True MemoryNearLimit memory 470Mi of its 512Mi limit (92%, measured 2026-11-30T11:59:50Z): near an OOM kill; raise spec.runtime.resources.limits.memory or give it smaller tasks',
    ],
    [
      'CPU at 95% of half a core',
      { cpu: 475, memoryMi: 100 },
      { memory: '512Mi', cpu: '500m' },
      'True CPUNearLimit CPU 475m of its 500m limit (95%, measured 2026-11-30T11:59:50Z): throttled, its tasks take longer; raise spec.runtime.resources.limits.cpu',
    ],
    [
      'within its limits',
      { cpu: 100, memoryMi: 100 },
      { memory: '512Mi', cpu: '1' },
      "False WithinLimits memory below 90% and CPU below 90% of the agent's limits",
    ],
  ] as [
    string,
    { cpu: number; memoryMi: number; agoS?: number } | undefined,
    { cpu?: string; memory?: string } | undefined,
    string | undefined,
  ][])('%s', (_name, usage, limits, expected) => {
    const p = pressureOf(agentWith(usage, limits), SETTINGS, NOW);
    expect(p === undefined ? undefined : `${p.status} ${p.reason} ${p.message}`).toBe(expected);
  });
});

describe('pressureOf after an OOM kill', () => {
  const killed = (agoMin: number): AgentObject => {
    const a = agentWith({ cpu: 10, memoryMi: 20 }, { memory: '64Mi' });
    return {
      ...a,
      status: {
        ...a.status,
        workload: {
          kind: 'Container',
          name: 'c',
          restarts: 1,
          lastExit: { reason: 'OOMKilled', exitCode: 137, finishedAt: new Date(NOW - agoMin * 60_000).toISOString().replace('.000Z', 'Z') },
        },
      },
    };
  };
  it('is under pressure for the window after the kill, whatever its usage now', () => {
    expect(pressureOf(killed(5), SETTINGS, NOW)).toEqual({
      status: 'True',
      reason: 'OOMKilled',
      message:
        'the workload was killed for lack of memory at 2026-11-30T11:55:00Z (limit 64Mi), and restarted: its running tasks were handed back; raise spec.runtime.resources.limits.memory',
    });
    expect(pressureOf(killed(61), SETTINGS, NOW)?.reason).toBe('WithinLimits');
  });
});

describe('performance onTick, per agent', () => {
  const tick = (agent: AgentObject): Intent[] => {
    const snapshot: NamespaceSnapshot = { now: NOW, namespace: 'ns', policy: undefined, agents: [agent], tasks: [] };
    return [...(performancePlugin.create({}).lifecycle?.onTick?.(snapshot) ?? [])];
  };

  it('exports the usage as gauges and writes no condition for an agent never under pressure', () => {
    const intents = tick(agentWith({ cpu: 250, memoryMi: 100 }, { memory: '1Gi' }));
    expect(intents.flatMap((i) => (i.kind === 'metric' ? [[i.name, i.value]] : []))).toEqual([
      ['agent_cpu_millicores', 250],
      ['agent_memory_bytes', 100 * 1048576],
    ]);
    expect(intents.filter((i) => i.kind === 'condition')).toEqual([]);
  });

  it('sets ResourcePressure with a Warning Event when memory nears its limit, and clears it with a Normal one', () => {
    const hot = tick(agentWith({ cpu: 100, memoryMi: 500 }, { memory: '512Mi' }));
    const said = hot.flatMap((i) =>
      i.kind === 'condition'
        ? [`condition ${i.condition.status} ${i.condition.reason}`]
        : i.kind === 'event'
          ? [`event ${i.type} ${i.reason}`]
          : [],
    );
    expect(said).toEqual(['condition True MemoryNearLimit', 'event Warning MemoryNearLimit']);
    const cooled = tick(
      agentWith({ cpu: 100, memoryMi: 100 }, { memory: '512Mi' }, [
        { type: 'ResourcePressure', status: 'True', reason: 'MemoryNearLimit' },
      ]),
    );
    expect(cooled.filter((i) => i.kind === 'event')).toMatchObject([{ type: 'Normal', reason: 'WithinLimits' }]);
  });
});
