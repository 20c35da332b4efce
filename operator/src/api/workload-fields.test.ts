import { describe, expect, it } from 'vitest';
import { agentSpec } from './agent.ts';

const kube = { type: 'kubernetes', image: 'agent-orchestrator/runner:latest' } as const;
const docker = { type: 'docker', image: 'agent-orchestrator/runner:latest' } as const;

const issues = (spec: unknown): string[] => {
  const result = agentSpec.safeParse(spec);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('spec.runtime fields for real workloads', () => {
  it.each([
    [
      'a persistent kubernetes workspace',
      { ...kube, workspace: { size: '10Gi', storageClassName: 'fast-ssd', accessModes: ['ReadWriteOnce'] } },
    ],
    ['an ephemeral kubernetes workspace with a size limit', { ...kube, workspace: { ephemeral: true, size: '1Gi' } }],
    ['a docker workspace', { ...docker, workspace: { mountPath: '/home/agent/work' } }],
    ['an ephemeral docker workspace', { ...docker, workspace: { ephemeral: true } }],
    ['a working directory', { ...docker, workingDir: '/workspace' }],
    ['GPUs in limits only', { ...kube, resources: { limits: { 'nvidia.com/gpu': 1, cpu: '2' } } }],
    ['GPUs in requests equal to limits', { ...kube, resources: { requests: { 'nvidia.com/gpu': '2' }, limits: { 'nvidia.com/gpu': 2 } } }],
    ['GPUs on docker', { ...docker, resources: { limits: { 'nvidia.com/gpu': 1, memory: '1Gi' } } }],
    ['another extended resource on kubernetes', { ...kube, resources: { limits: { 'example.com/fpga': 1 } } }],
    [
      'scheduling on kubernetes',
      {
        ...kube,
        nodeSelector: { 'kubernetes.io/arch': 'amd64', gpu: 'true' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }, { operator: 'Exists' }],
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
        imagePullSecrets: [{ name: 'regcred' }],
        runtimeClassName: 'gvisor',
        serviceAccount: { annotations: { 'iam.gke.io/gcp-service-account': 'agent@project.iam.gserviceaccount.com' } },
      },
    ],
    ['a runtime class on docker', { ...docker, runtimeClassName: 'runsc' }],
  ])('accepts %s', (_name, runtime) => {
    expect(issues({ runtime })).toEqual([]);
  });

  it('defaults the workspace mountPath to /workspace, and nothing else', () => {
    expect(agentSpec.parse({ runtime: { ...docker, workspace: {} } }).runtime.workspace).toEqual({ mountPath: '/workspace' });
  });

  it.each([
    [
      'a persistent kubernetes workspace without a size',
      { ...kube, workspace: {} },
      'runtime.workspace: spec.runtime.workspace.size is required for a persistent kubernetes workspace: the PersistentVolumeClaim requests that much storage (or set ephemeral: true for an emptyDir)',
    ],
    [
      'a docker workspace with a size',
      { ...docker, workspace: { size: '1Gi' } },
      "runtime.workspace: spec.runtime.workspace.size, storageClassName and accessModes apply to the kubernetes runtime only: a docker workspace is a volume on the engine's host, without a size",
    ],
    [
      'an ephemeral workspace with a storage class',
      { ...kube, workspace: { ephemeral: true, storageClassName: 'fast' } },
      'runtime.workspace: spec.runtime.workspace.storageClassName and accessModes are for a persistent workspace: an ephemeral one is an emptyDir',
    ],
    [
      'a workspace on /tmp',
      { ...docker, workspace: { mountPath: '/tmp' } },
      "runtime.workspace.mountPath: spec.runtime.workspace.mountPath must not be /tmp (the agent's scratch space) or hold /var/run/agent-orchestrator (the runner's credentials in a docker container)",
    ],
    [
      'a workspace over the runner credentials',
      { ...docker, workspace: { mountPath: '/var/run' } },
      "runtime.workspace.mountPath: spec.runtime.workspace.mountPath must not be /tmp (the agent's scratch space) or hold /var/run/agent-orchestrator (the runner's credentials in a docker container)",
    ],
    [
      'a relative mountPath',
      { ...docker, workspace: { mountPath: 'work' } },
      'runtime.workspace.mountPath: must be an absolute path such as /workspace (letters, digits, _ - . in each part)',
    ],
    ['a relative workingDir', { ...docker, workingDir: 'src' }, 'runtime.workingDir: must be an absolute path'],
    [
      'a fractional GPU',
      { ...kube, resources: { limits: { 'nvidia.com/gpu': '500m' } } },
      'runtime.resources.limits: an extended resource such as nvidia.com/gpu is a whole number of devices (1, not 500m or 0.5)',
    ],
    [
      'a resource without a domain',
      { ...kube, resources: { limits: { gpu: 1 } } },
      'runtime.resources.limits: resources are cpu, memory or an extended resource named domain/name, such as nvidia.com/gpu',
    ],
    [
      'GPU requests without limits',
      { ...kube, resources: { requests: { 'nvidia.com/gpu': 1 } } },
      'runtime.resources.requests: spec.runtime.resources.requests: an extended resource (nvidia.com/gpu) must be in limits too, with the same quantity: Kubernetes does not overcommit devices (setting limits alone is enough)',
    ],
    [
      'GPU requests above limits',
      { ...kube, resources: { requests: { 'nvidia.com/gpu': 2 }, limits: { 'nvidia.com/gpu': 1 } } },
      'runtime.resources.requests: spec.runtime.resources.requests: an extended resource (nvidia.com/gpu) must be in limits too, with the same quantity: Kubernetes does not overcommit devices (setting limits alone is enough)',
    ],
    [
      'another extended resource on docker',
      { ...docker, resources: { limits: { 'example.com/fpga': 1 } } },
      "runtime.resources: spec.runtime.resources: a docker agent takes cpu, memory and nvidia.com/gpu (the engine's GPU device requests); other extended resources need the kubernetes runtime",
    ],
    [
      'a nodeSelector on docker',
      { ...docker, nodeSelector: { disk: 'ssd' } },
      "runtime.nodeSelector: spec.runtime.nodeSelector applies to the kubernetes runtime only: a docker agent runs on its engine's host",
    ],
    [
      'tolerations on docker',
      { ...docker, tolerations: [{ operator: 'Exists' }] },
      "runtime.tolerations: spec.runtime.tolerations applies to the kubernetes runtime only: a docker agent runs on its engine's host",
    ],
    [
      'affinity on docker',
      { ...docker, affinity: { nodeAffinity: {} } },
      "runtime.affinity: spec.runtime.affinity applies to the kubernetes runtime only: a docker agent runs on its engine's host",
    ],
    [
      'imagePullSecrets on docker',
      { ...docker, imagePullSecrets: [{ name: 'regcred' }] },
      'runtime.imagePullSecrets: spec.runtime.imagePullSecrets applies to the kubernetes runtime only: a Docker engine pulls with the credentials of its own host (docker login there)',
    ],
    [
      'a serviceAccount on docker',
      { ...docker, serviceAccount: { annotations: { a: 'b' } } },
      'runtime.serviceAccount: spec.runtime.serviceAccount applies to the kubernetes runtime only: a docker agent already runs as its own ServiceAccount agent-<name>, with tokens the operator requests, which cloud workload identity does not federate',
    ],
    ['an unknown affinity kind', { ...kube, affinity: { nodeAfinity: {} } }, 'runtime.affinity: Unrecognized key: "nodeAfinity"'],
    [
      'a toleration with Exists and a value',
      { ...kube, tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] },
      'runtime.tolerations.0: a toleration with operator Exists matches any value: remove value',
    ],
    [
      'a toleration without a key',
      { ...kube, tolerations: [{ value: 'v' }] },
      'runtime.tolerations.0: a toleration without a key needs operator Exists (it then tolerates every taint)',
    ],
    [
      'a pull secret that is not a name',
      { ...kube, imagePullSecrets: [{ name: 'Reg Cred' }] },
      "runtime.imagePullSecrets.0.name: must be the name of a Secret: lowercase letters, digits, '-' and '.'",
    ],
    [
      'an annotation name with a space',
      { ...kube, serviceAccount: { annotations: { 'role arn': 'x' } } },
      'runtime.serviceAccount.annotations: annotation names are a name with an optional DNS prefix, such as iam.gke.io/gcp-service-account',
    ],
    [
      'a node label name with a space',
      { ...kube, nodeSelector: { 'disk type': 'ssd' } },
      'runtime.nodeSelector: node label names are a name with an optional DNS prefix, such as kubernetes.io/arch or gpu',
    ],
  ])('rejects %s', (_name, runtime, message) => {
    expect(issues({ runtime })).toContain(message);
  });
});
