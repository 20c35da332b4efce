import { describe, expect, it } from 'vitest';
import { agent } from '../../operator/src/api/agent.ts';
import { SECURITY_CASES, TABLE_SETTINGS } from './cases.ts';
import { securitySettings } from './config.ts';
import { fieldOf, securityJudge } from './judge.ts';
import { securityReview } from './index.ts';

const settings = securitySettings.parse(TABLE_SETTINGS);
const judge = securityJudge(settings);
const agentWith = (runtime: Record<string, unknown>): ReturnType<typeof agent.parse> => agent.parse({ spec: { runtime } });

describe('the security judge on the table', () => {
  it.each(SECURITY_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const found = judge(agentWith(c.runtime('unix:///run/docker.sock')));
    expect(found.map((v) => v.field)).toEqual(c.fields);
    for (const v of found) expect(v.message.startsWith(`${v.field}: `)).toBe(true);
  });
});

describe('the security judge’s messages', () => {
  it('names the image, the allowlist and the fix', () => {
    const [v] = judge(agentWith({ type: 'kubernetes', image: 'registry.evil/x', resources: { limits: { cpu: 1, memory: 1 } } }));
    expect(v?.message).toBe(
      'spec.runtime.image: registry.evil/x is not in the allowlist (security.images.allow: 127.0.0.1:5000/*, ghcr.io/acme/**, agent-orchestrator/runner:*); use an allowed image',
    );
  });

  it('says "none" for an empty allowlist, and refuses everything then', () => {
    const none = securityJudge(securitySettings.parse({ enabled: true, images: { allow: [] }, resources: { requireLimits: [] } }));
    const [v] = none(agentWith({ type: 'kubernetes', image: 'a' }));
    expect(v?.message).toBe('spec.runtime.image: a is not in the allowlist (security.images.allow: none); use an allowed image');
  });

  it('asks for a runtimeClassName when one is required, naming the allowed ones', () => {
    const required = securityJudge(
      securitySettings.parse({ enabled: true, runtimeClassName: { required: true, allow: ['gvisor'] }, resources: { requireLimits: [] } }),
    );
    expect(required(agentWith({ type: 'kubernetes', image: 'x' })).map((v) => [v.field, v.kind, v.message])).toEqual([
      [
        'spec.runtime.runtimeClassName',
        'missing',
        'spec.runtime.runtimeClassName: not set, and the security policy requires one (security.runtimeClassName.required; allowed: gvisor); set it',
      ],
    ]);
    expect(required(agentWith({ type: 'kubernetes', image: 'x', runtimeClassName: 'gvisor' }))).toEqual([]);
  });

  it('checks the Docker engine and devices of docker agents only', () => {
    const runtime = { image: 'agent-orchestrator/runner:dev', resources: { limits: { cpu: 1, memory: 1, 'nvidia.com/gpu': 1 } } };
    expect(judge(agentWith({ ...runtime, type: 'docker', docker: { host: 'tcp://10.0.0.1:2375' } })).map((v) => v.field)).toEqual([
      'spec.runtime.docker.host',
      "spec.runtime.resources.limits['nvidia.com/gpu']",
    ]);
    expect(judge(agentWith({ ...runtime, type: 'kubernetes', docker: { host: 'tcp://10.0.0.1:2375' } }))).toEqual([]);
  });

  it('admits everything but missing limits with the defaults', () => {
    const defaults = securityJudge(securitySettings.parse({ enabled: true }));
    const anything = {
      type: 'docker',
      image: 'whatever/you:like',
      runtimeClassName: 'runc',
      docker: { host: 'tcp://127.0.0.1:1' },
      env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'any', key: 'k' } } }],
    };
    expect(defaults(agentWith(anything)).map((v) => v.field)).toEqual([
      'spec.runtime.resources.limits.cpu',
      'spec.runtime.resources.limits.memory',
    ]);
    expect(defaults(agentWith({ ...anything, resources: { limits: { cpu: 1, memory: '1Gi', 'nvidia.com/gpu': 2 } } }))).toEqual([]);
  });
});

describe('fieldOf', () => {
  it.each([
    [['spec', 'runtime', 'image'], 'spec.runtime.image'],
    [['spec', 'runtime', 'env', 3, 'valueFrom'], 'spec.runtime.env[3].valueFrom'],
    [['spec', 'runtime', 'resources', 'limits', 'nvidia.com/gpu'], "spec.runtime.resources.limits['nvidia.com/gpu']"],
  ] as const)('%j is %s', (path, field) => {
    expect(fieldOf(path)).toBe(field);
  });
});

describe('securityReview', () => {
  it('reviews nothing while the policy is off', () => {
    expect(securityReview(securitySettings.parse({}))).toBeUndefined();
  });

  it('denies with [Deny] and warns with [Warn, Audit]', () => {
    expect(securityReview(settings)?.enforcement).toBe('Deny');
    expect(securityReview(securitySettings.parse({ ...TABLE_SETTINGS, validationActions: ['Warn', 'Audit'] }))?.enforcement).toBe('Warn');
    expect(securityReview(securitySettings.parse({ ...TABLE_SETTINGS, validationActions: ['Audit'] }))?.enforcement).toBe('Warn');
  });

  it('gives the judge’s fields and messages', () => {
    const review = securityReview(settings);
    const a = agentWith({ type: 'kubernetes', image: 'nope' });
    expect(review?.review(a)).toEqual(judge(a).map(({ field, message }) => ({ field, message })));
    expect(review?.reason).toBe('SecurityPolicy');
  });
});
