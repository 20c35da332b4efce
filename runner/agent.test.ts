import { describe, expect, it } from 'vitest';
import { agent as agentSchema } from '../operator/src/api/agent.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { agentSettings, agentStats } from './agent.ts';

const minimal: KubeObject = {
  apiVersion: 'agents.orchestrator.dev/v1alpha1',
  kind: 'Agent',
  metadata: { name: 'a', namespace: 'n', uid: 'u-1' },
  spec: { capabilities: ['x'], runtime: { type: 'kubernetes', image: 'runner' } },
};

describe('what the runner reads of its Agent', () => {
  it("falls back to the CRD's defaults, the same the API's schema applies", () => {
    const parsed = agentSchema.parse(minimal);
    expect(agentSettings(minimal)).toEqual({
      uid: 'u-1',
      heartbeatIntervalMs: parsed.spec.heartbeat.intervalSeconds * 1000,
      heartbeatTimeoutMs: parsed.spec.heartbeat.timeoutSeconds * 1000,
      maxConcurrentTasks: parsed.spec.maxConcurrentTasks,
      windowTokens: undefined,
    });
  });

  it('reads what the Agent sets', () => {
    const agent = {
      ...minimal,
      spec: {
        ...(minimal.spec as object),
        maxConcurrentTasks: 3,
        heartbeat: { intervalSeconds: 2, timeoutSeconds: 9 },
        context: { windowTokens: 1000 },
      },
    };
    expect(agentSettings(agent)).toEqual({
      uid: 'u-1',
      heartbeatIntervalMs: 2000,
      heartbeatTimeoutMs: 9000,
      maxConcurrentTasks: 3,
      windowTokens: 1000,
    });
  });

  it.each([
    { name: 'no status', status: undefined, stats: { succeeded: 0, failed: 0, consecutiveFailures: 0 } },
    {
      name: 'counts',
      status: { stats: { succeeded: 4, failed: 2, consecutiveFailures: 1 } },
      stats: { succeeded: 4, failed: 2, consecutiveFailures: 1 },
    },
  ])('stats with $name', ({ status, stats }) => {
    expect(agentStats({ ...minimal, ...(status ? { status } : {}) })).toEqual(stats);
  });
});
