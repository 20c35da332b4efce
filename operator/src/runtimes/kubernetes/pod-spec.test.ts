import { describe, expect, it } from 'vitest';
import type { WorkloadSpec } from '../runtime.ts';
import { WORKSPACE_FS_GROUP, agentPod, workspaceClaim } from './pod-spec.ts';

const agent = { namespace: 'team-a', name: 'coder', uid: 'uid-1' };
const base: WorkloadSpec = { agent, image: 'agent-orchestrator/runner:dev', env: [], specHash: 'h1' };

type PodSpec = {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: { workingDir?: string; resources?: unknown; volumeMounts: unknown[] }[];
  volumes: unknown[];
} & Record<string, unknown>;
const podSpec = (spec: WorkloadSpec): PodSpec => agentPod(spec).spec as PodSpec;

describe('agentPod', () => {
  it('adds nothing for the new fields when they are unset: a Pod from before them is made the same', () => {
    const pod = podSpec(base);
    // The Agent's own account, whose Role names its Tasks (ADR 0016).
    expect(pod.serviceAccountName).toBe('agent-coder');
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(Object.keys(pod).sort()).toEqual([
      'containers',
      'enableServiceLinks',
      'restartPolicy',
      'securityContext',
      'serviceAccountName',
      'volumes',
    ]);
    expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: {} }]);
    expect(pod.containers[0]?.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(workspaceClaim(base)).toBeUndefined();
  });

  it('mounts a persistent workspace from the Agent’s claim, writable through the fsGroup', () => {
    const spec: WorkloadSpec = {
      ...base,
      workspace: { mountPath: '/workspace', size: '10Gi', storageClassName: 'fast', accessModes: ['ReadWriteOncePod'] },
    };
    const pod = podSpec(spec);
    expect(pod.volumes).toContainEqual({ name: 'workspace', persistentVolumeClaim: { claimName: 'agent-coder-workspace' } });
    expect(pod.containers[0]?.volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'workspace', mountPath: '/workspace' },
    ]);
    expect(pod.securityContext).toMatchObject({ fsGroup: WORKSPACE_FS_GROUP, fsGroupChangePolicy: 'OnRootMismatch' });
    expect(workspaceClaim(spec)).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'agent-coder-workspace',
        namespace: 'team-a',
        labels: { 'app.kubernetes.io/managed-by': 'agent-orchestrator', 'agents.orchestrator.dev/agent': 'coder' },
        ownerReferences: [
          {
            apiVersion: 'agents.orchestrator.dev/v1alpha1',
            kind: 'Agent',
            name: 'coder',
            uid: 'uid-1',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { accessModes: ['ReadWriteOncePod'], resources: { requests: { storage: '10Gi' } }, storageClassName: 'fast' },
    });
  });

  it('asks a claim for ReadWriteOnce and the default class when the spec says nothing', () => {
    expect(workspaceClaim({ ...base, workspace: { mountPath: '/w', size: 1073741824 } })?.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1073741824' } },
    });
  });

  it('makes an ephemeral workspace an emptyDir with its size as the limit, and no claim', () => {
    const spec: WorkloadSpec = { ...base, workspace: { mountPath: '/scratch', ephemeral: true, size: '2Gi' } };
    const pod = podSpec(spec);
    expect(pod.volumes).toContainEqual({ name: 'workspace', emptyDir: { sizeLimit: '2Gi' } });
    expect(pod.containers[0]?.volumeMounts).toContainEqual({ name: 'workspace', mountPath: '/scratch' });
    expect(pod.securityContext).not.toHaveProperty('fsGroup');
    expect(workspaceClaim(spec)).toBeUndefined();
  });

  it('sets the working directory, and extended resources as given', () => {
    const resources = { requests: { cpu: '1', 'nvidia.com/gpu': 1 }, limits: { memory: '4Gi', 'nvidia.com/gpu': 1 } };
    const pod = podSpec({ ...base, workingDir: '/workspace/repo', resources });
    expect(pod.containers[0]?.workingDir).toBe('/workspace/repo');
    expect(pod.containers[0]?.resources).toEqual(resources);
  });

  it('places the Pod as the spec says: nodeSelector, tolerations, affinity, pull secrets, runtime class', () => {
    const affinity = {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'In', values: ['a100'] }] }],
        },
      },
    };
    const pod = podSpec({
      ...base,
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      affinity,
      imagePullSecrets: [{ name: 'regcred' }],
      runtimeClassName: 'gvisor',
    });
    expect(pod).toMatchObject({
      nodeSelector: { 'kubernetes.io/arch': 'amd64' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
      affinity,
      imagePullSecrets: [{ name: 'regcred' }],
      runtimeClassName: 'gvisor',
    });
  });

  it('runs as the agent’s own ServiceAccount when the spec gives it one (ADR 0015)', () => {
    expect(
      podSpec({ ...base, serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/r' } } }).serviceAccountName,
    ).toBe('agent-coder');
    expect(podSpec({ ...base, serviceAccount: {} }).serviceAccountName).toBe('agent-coder');
  });
});
