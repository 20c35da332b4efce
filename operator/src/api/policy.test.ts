import { describe, expect, it } from 'vitest';
import { policySpec } from './policy.ts';

const template = { runtime: { type: 'kubernetes', image: 'runner:1' } };

describe('OrchestratorPolicy schema', () => {
  it('defaults an empty spec to a usable policy', () => {
    expect(policySpec.parse({})).toEqual({
      routing: { strategy: 'Balanced' },
      retries: { max: 3, backoffSeconds: 10 },
      circuitBreaker: { failureThreshold: 5, cooldownSeconds: 60 },
    });
  });

  it('defaults a pool', () => {
    const spec = policySpec.parse({ autoscaling: { pools: [{ name: 'p', template }] } });
    expect(spec.autoscaling?.pools[0]).toMatchObject({
      minAgents: 0,
      maxAgents: 10,
      targetPendingPerAgent: 1,
      scaleUp: { stabilizationSeconds: 0, maxStep: 4 },
      scaleDown: { stabilizationSeconds: 300 },
      scaleToZero: false,
      template: { maxConcurrentTasks: 1, heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 } },
    });
  });

  it.each([
    ['minAgents above maxAgents', { minAgents: 5, maxAgents: 2 }, 'autoscaling.pools.0.minAgents', /lower minAgents or raise maxAgents/],
    ['scaleToZero with minAgents', { minAgents: 1, scaleToZero: true }, 'autoscaling.pools.0.scaleToZero', /minAgents: 0/],
  ])('rejects %s with a message that names the fix', (_name, fields, path, message) => {
    const result = policySpec.safeParse({ autoscaling: { pools: [{ name: 'p', template, ...fields }] } });
    const issue = result.error?.issues.find((i) => i.path.join('.') === path);
    expect(issue?.message).toMatch(message);
  });

  it('rejects two pools with one name', () => {
    const result = policySpec.safeParse({
      autoscaling: {
        pools: [
          { name: 'p', template },
          { name: 'p', template },
        ],
      },
    });
    expect(result.error?.issues[0]?.path).toEqual(['autoscaling', 'pools']);
  });

  it('accepts any plugin configuration under a valid plugin name', () => {
    const plugins = { 'context-window': { compactAt: 0.8, models: ['a'] } };
    expect(policySpec.parse({ plugins }).plugins).toEqual(plugins);
    expect(policySpec.safeParse({ plugins: { 'Bad Name': {} } }).success).toBe(false);
  });
});
