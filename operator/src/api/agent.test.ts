import { describe, expect, it } from 'vitest';
import { agent, agentSpec } from './agent.ts';

const runtime = { type: 'kubernetes', image: 'agent-orchestrator/runner:latest' } as const;

describe('Agent schema', () => {
  it('applies the defaults DESIGN.md gives', () => {
    expect(agentSpec.parse({ runtime })).toEqual({
      capabilities: [],
      runtime,
      maxConcurrentTasks: 1,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
    });
  });

  it.each([
    ['a missing runtime', {}, 'runtime'],
    ['a missing image', { runtime: { type: 'docker' } }, 'runtime.image'],
    ['an unknown runtime', { runtime: { ...runtime, type: 'vm' } }, 'runtime.type'],
    ['an upper-case capability', { runtime, capabilities: ['GPU'] }, 'capabilities.0'],
    ['a duplicate capability', { runtime, capabilities: ['gpu', 'gpu'] }, 'capabilities'],
    ['zero concurrent tasks', { runtime, maxConcurrentTasks: 0 }, 'maxConcurrentTasks'],
    ['a fractional concurrency', { runtime, maxConcurrentTasks: 1.5 }, 'maxConcurrentTasks'],
    ['timeout not above interval', { runtime, heartbeat: { intervalSeconds: 30, timeoutSeconds: 30 } }, 'heartbeat.timeoutSeconds'],
    ['an unknown field', { runtime, replicas: 3 }, ''],
    [
      'value and valueFrom',
      {
        runtime: { ...runtime, env: [{ name: 'K', value: 'v', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] },
      },
      'runtime.env.0',
    ],
    ['duplicate env names', { runtime: { ...runtime, env: [{ name: 'A' }, { name: 'A' }] } }, 'runtime.env'],
    [
      'an envFrom entry with both a Secret and a ConfigMap',
      { runtime: { ...runtime, envFrom: [{ secretRef: { name: 's' }, configMapRef: { name: 'c' } }] } },
      'runtime.envFrom.0',
    ],
    ['an envFrom entry with neither', { runtime: { ...runtime, envFrom: [{ prefix: 'P_' }] } }, 'runtime.envFrom.0'],
    [
      'an envFrom prefix that is no variable name',
      { runtime: { ...runtime, envFrom: [{ prefix: 'A=', secretRef: { name: 's' } }] } },
      'runtime.envFrom.0.prefix',
    ],
    ['a docker host that is not an endpoint', { runtime: { ...runtime, docker: { host: '/var/run/docker.sock' } } }, 'runtime.docker.host'],
    ['a bad quantity', { runtime: { ...runtime, resources: { limits: { cpu: 'lots' } } } }, 'runtime.resources.limits.cpu'],
  ])('rejects %s at %j', (_name, spec, path) => {
    const result = agentSpec.safeParse(spec);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toContain(path);
  });

  it('accepts quantities as integers or strings', () => {
    const spec = agentSpec.parse({ runtime: { ...runtime, resources: { requests: { cpu: 2, memory: '512Mi' } } } });
    expect(spec.runtime.resources?.requests).toEqual({ cpu: 2, memory: '512Mi' });
  });

  it('limits Agent names to DNS labels, as they become label values', () => {
    expect(agent.safeParse({ metadata: { name: 'a'.repeat(64) }, spec: { runtime } }).success).toBe(false);
    expect(agent.safeParse({ metadata: { name: 'reviewer-1' }, spec: { runtime } }).success).toBe(true);
  });
});
