import { describe, expect, it } from 'vitest';
import { agentSpec, type Agent } from '../../api/agent.ts';
import { specHash } from '../spec-hash.ts';
import { workloadSpecOf } from './workload.ts';

const ref = { namespace: 'team-a', name: 'coder', uid: 'u-1' };
const agentOf = (runtime: Record<string, unknown>): Agent => ({
  spec: agentSpec.parse({ runtime: { type: 'kubernetes', image: 'runner:1', ...runtime } }),
});
const hashOf = (runtime: Record<string, unknown>): string => workloadSpecOf(agentOf(runtime), ref).specHash;

describe('workloadSpecOf and the fields that place the workload', () => {
  it('keeps the hash of an Agent from before the fields existed: an upgrade rolls nothing', () => {
    const resources = { limits: { cpu: '1', memory: '1Gi' } };
    expect(hashOf({ resources })).toBe(specHash({ image: 'runner:1', resources }));
  });

  it.each([
    ['workspace', { workspace: { size: '1Gi' } }, { workspace: { size: '2Gi' } }],
    ['workspace mountPath', { workspace: { size: '1Gi' } }, { workspace: { size: '1Gi', mountPath: '/work' } }],
    ['workingDir', { workingDir: '/a' }, { workingDir: '/b' }],
    ['GPUs', { resources: { limits: { 'nvidia.com/gpu': 1 } } }, { resources: { limits: { 'nvidia.com/gpu': 2 } } }],
    ['nodeSelector', { nodeSelector: { a: 'b' } }, { nodeSelector: { a: 'c' } }],
    ['tolerations', { tolerations: [{ operator: 'Exists' }] }, { tolerations: [{ key: 'k', operator: 'Exists' }] }],
    ['affinity', { affinity: { nodeAffinity: { x: 1 } } }, { affinity: { nodeAffinity: { x: 2 } } }],
    ['imagePullSecrets', { imagePullSecrets: [{ name: 'a' }] }, { imagePullSecrets: [{ name: 'b' }] }],
    ['runtimeClassName', { runtimeClassName: 'a' }, { runtimeClassName: 'b' }],
    ['serviceAccount annotations', { serviceAccount: { annotations: { a: '1' } } }, { serviceAccount: { annotations: { a: '2' } } }],
  ])('rolls the workload when %s changes, and when it is added', (_name, before, after) => {
    expect(hashOf(before)).not.toBe(hashOf(after));
    expect(hashOf(before)).not.toBe(hashOf({}));
  });

  it('hands the fields to the runtime as the spec has them', () => {
    const spec = workloadSpecOf(
      agentOf({ workspace: { size: '1Gi' }, workingDir: '/workspace', runtimeClassName: 'gvisor', nodeSelector: { a: 'b' } }),
      ref,
    );
    expect(spec).toMatchObject({
      workspace: { mountPath: '/workspace', size: '1Gi' },
      workingDir: '/workspace',
      runtimeClassName: 'gvisor',
      nodeSelector: { a: 'b' },
    });
    expect(workloadSpecOf(agentOf({}), ref)).not.toHaveProperty('workspace');
  });
});
