// Which spec.runtime fields each runtime takes. A docker agent is one container on an
// engine's host: scheduling onto nodes, the kubelet's pull secrets and a Pod's cloud
// identity mean nothing there, so they are refused when the Agent is applied rather than
// ignored when it runs.
import type { Rule } from './validation.ts';
import { GPU_RESOURCE, STANDARD_RESOURCES } from './workload-fields.ts';

/** The fields of spec.runtime the rules read. */
interface RuntimeFields {
  type: string;
  nodeSelector?: unknown;
  tolerations?: unknown;
  affinity?: unknown;
  imagePullSecrets?: unknown;
  serviceAccount?: unknown;
  resources?: { requests?: Record<string, unknown> | undefined; limits?: Record<string, unknown> | undefined } | undefined;
  workspace?: { size?: unknown; storageClassName?: unknown; accessModes?: unknown; ephemeral?: boolean | undefined } | undefined;
}

const kubernetesOnly = (
  field: 'nodeSelector' | 'tolerations' | 'affinity' | 'imagePullSecrets' | 'serviceAccount',
  why: string,
): Rule<RuntimeFields> => ({
  rule: `self.type != 'docker' || !has(self.${field})`,
  message: `spec.runtime.${field} applies to the kubernetes runtime only: ${why}`,
  fieldPath: `.${field}`,
  holds: (r) => r.type !== 'docker' || r[field] === undefined,
});

const DOCKER_RESOURCES = [...STANDARD_RESOURCES, GPU_RESOURCE];
const DOCKER_RESOURCES_CEL = `['${DOCKER_RESOURCES.join("', '")}']`;
const dockerTakes = (list: Record<string, unknown> | undefined): boolean =>
  Object.keys(list ?? {}).every((k) => DOCKER_RESOURCES.includes(k));

export const dockerRuntimeRules: readonly Rule<RuntimeFields>[] = [
  kubernetesOnly('nodeSelector', "a docker agent runs on its engine's host"),
  kubernetesOnly('tolerations', "a docker agent runs on its engine's host"),
  kubernetesOnly('affinity', "a docker agent runs on its engine's host"),
  kubernetesOnly('imagePullSecrets', 'a Docker engine pulls with the credentials of its own host (docker login there)'),
  kubernetesOnly(
    'serviceAccount',
    'a docker agent already runs as its own ServiceAccount agent-<name>, with tokens the operator requests, which cloud workload identity does not federate',
  ),
  {
    rule:
      `self.type != 'docker' || !has(self.resources) || ` +
      `((!has(self.resources.requests) || self.resources.requests.all(k, k in ${DOCKER_RESOURCES_CEL})) && ` +
      `(!has(self.resources.limits) || self.resources.limits.all(k, k in ${DOCKER_RESOURCES_CEL})))`,
    message: `spec.runtime.resources: a docker agent takes cpu, memory and ${GPU_RESOURCE} (the engine's GPU device requests); other extended resources need the kubernetes runtime`,
    fieldPath: '.resources',
    holds: (r) => r.type !== 'docker' || (dockerTakes(r.resources?.requests) && dockerTakes(r.resources?.limits)),
  },
  {
    rule:
      "self.type != 'docker' || !has(self.workspace) || " +
      '(!has(self.workspace.size) && !has(self.workspace.storageClassName) && !has(self.workspace.accessModes))',
    message:
      "spec.runtime.workspace.size, storageClassName and accessModes apply to the kubernetes runtime only: a docker workspace is a volume on the engine's host, without a size",
    fieldPath: '.workspace',
    holds: (r) =>
      r.type !== 'docker' ||
      !r.workspace ||
      (r.workspace.size === undefined && r.workspace.storageClassName === undefined && r.workspace.accessModes === undefined),
  },
  {
    rule: "self.type != 'kubernetes' || !has(self.workspace) || (has(self.workspace.ephemeral) && self.workspace.ephemeral) || has(self.workspace.size)",
    message:
      'spec.runtime.workspace.size is required for a persistent kubernetes workspace: the PersistentVolumeClaim requests that much storage (or set ephemeral: true for an emptyDir)',
    fieldPath: '.workspace',
    holds: (r) => r.type !== 'kubernetes' || !r.workspace || r.workspace.ephemeral === true || r.workspace.size !== undefined,
  },
];
