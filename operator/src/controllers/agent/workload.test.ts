import { describe, expect, it } from 'vitest';
import { agentSpec, type Agent } from '../../api/agent.ts';
import { agentPod } from '../../runtimes/kubernetes/pod-spec.ts';
import { specHash } from '../spec-hash.ts';
import { workloadSpecOf } from './workload.ts';

const ref = { namespace: 'team-a', name: 'coder', uid: 'u-1' };
const agentOf = (runtime: Record<string, unknown>): Agent => ({
  spec: agentSpec.parse({ runtime: { type: 'kubernetes', image: 'runner:1', ...runtime } }),
});

describe('workloadSpecOf and envFrom', () => {
  it('keeps the hash of workloads made before envFrom existed when it is unset or empty', () => {
    const env = [{ name: 'A', value: 'a' }];
    const before = specHash({ image: 'runner:1', env, command: undefined, args: undefined, resources: undefined });
    expect(workloadSpecOf(agentOf({ env }), ref).specHash).toBe(before);
    expect(workloadSpecOf(agentOf({ env, envFrom: [] }), ref).specHash).toBe(before);
  });

  it('rolls the workload when envFrom changes', () => {
    const a = workloadSpecOf(agentOf({ envFrom: [{ secretRef: { name: 'llm' } }] }), ref).specHash;
    const b = workloadSpecOf(agentOf({ envFrom: [{ secretRef: { name: 'llm' }, prefix: 'LLM_' }] }), ref).specHash;
    expect(a).not.toBe(workloadSpecOf(agentOf({}), ref).specHash);
    expect(a).not.toBe(b);
  });

  it('hands envFrom to the Pod as it is: the kubelet reads the Secrets and ConfigMaps', () => {
    const envFrom = [{ secretRef: { name: 'llm' }, prefix: 'LLM_' }, { configMapRef: { name: 'settings', optional: true } }];
    const pod = agentPod(workloadSpecOf(agentOf({ envFrom }), ref)) as unknown as { spec: { containers: { envFrom?: unknown }[] } };
    expect(pod.spec.containers[0]?.envFrom).toEqual(envFrom);
    const without = agentPod(workloadSpecOf(agentOf({}), ref)) as unknown as { spec: { containers: Record<string, unknown>[] } };
    expect(without.spec.containers[0]).not.toHaveProperty('envFrom');
  });
});
