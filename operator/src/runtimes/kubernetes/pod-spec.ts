import { AGENT_LABEL, API_VERSION, RESTART_ANNOTATION } from '../../api/common.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import type { WorkloadSpec } from '../runtime.ts';
import { agentIdentity } from './agent-role.ts';

export { AGENT_LABEL };
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'agent-orchestrator' };
export const SPEC_HASH_ANNOTATION = 'agents.orchestrator.dev/spec-hash';

/** The Pod of Agent `name`, named as its ServiceAccount: its identity (agent-role.ts). */
export const podName = agentIdentity;
/** The PersistentVolumeClaim of Agent `name`'s persistent workspace. */
export const workspaceClaimName = (agent: string): string => `agent-${agent}-workspace`;
/**
 * The runner image's group. The kubelet makes a persistent workspace group-writable for
 * it and adds it to the process's groups, so an image running as any user can write there.
 */
export const WORKSPACE_FS_GROUP = 65532;

const ownerOf = (spec: WorkloadSpec): NonNullable<KubeObject['metadata']['ownerReferences']> => {
  const { name, uid } = spec.agent;
  return [{ apiVersion: API_VERSION, kind: 'Agent', name, uid, controller: true, blockOwnerDeletion: true }];
};

/**
 * The claim of a persistent workspace, owned by the Agent: a Pod deleted to sleep, roll or
 * restart leaves it, the garbage collector deletes it with the Agent. Undefined when the
 * Agent has no persistent workspace.
 */
export function workspaceClaim(spec: WorkloadSpec): KubeObject | undefined {
  const ws = spec.workspace;
  if (!ws || ws.ephemeral || ws.size === undefined) return undefined;
  const { namespace, name } = spec.agent;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: workspaceClaimName(name), namespace, labels: { ...MANAGED_BY, [AGENT_LABEL]: name }, ownerReferences: ownerOf(spec) },
    spec: {
      accessModes: [...(ws.accessModes ?? ['ReadWriteOnce'])],
      resources: { requests: { storage: String(ws.size) } },
      ...(ws.storageClassName !== undefined ? { storageClassName: ws.storageClassName } : {}),
    },
  };
}

/** The Pod's workspace volume: the Agent's claim, or an emptyDir lost with the Pod. */
function workspaceVolume(spec: WorkloadSpec): Record<string, unknown>[] {
  const ws = spec.workspace;
  if (!ws) return [];
  if (workspaceClaim(spec)) return [{ name: 'workspace', persistentVolumeClaim: { claimName: workspaceClaimName(spec.agent.name) } }];
  return [{ name: 'workspace', emptyDir: ws.size !== undefined ? { sizeLimit: String(ws.size) } : {} }];
}

/**
 * An Agent's Pod: owned by the Agent (deleting it deletes the Pod), running as the
 * Agent's own ServiceAccount with a token bound to the Pod, hardened to the restricted Pod
 * Security Standard.
 */
export function agentPod(spec: WorkloadSpec): KubeObject {
  const { namespace, name } = spec.agent;
  const persistent = workspaceClaim(spec) !== undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(name),
      namespace,
      labels: { ...MANAGED_BY, [AGENT_LABEL]: name },
      annotations: {
        [SPEC_HASH_ANNOTATION]: spec.specHash,
        ...(spec.restartedAt !== undefined ? { [RESTART_ANNOTATION]: spec.restartedAt } : {}),
      },
      ownerReferences: ownerOf(spec),
    },
    spec: {
      // Its own account: RBAC tells agents apart by it (ADR 0016).
      serviceAccountName: podName(name),
      restartPolicy: 'Always',
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
        // OnRootMismatch: a large workspace is not walked again on every start.
        ...(persistent ? { fsGroup: WORKSPACE_FS_GROUP, fsGroupChangePolicy: 'OnRootMismatch' } : {}),
      },
      ...(spec.runtimeClassName !== undefined ? { runtimeClassName: spec.runtimeClassName } : {}),
      ...(spec.nodeSelector !== undefined ? { nodeSelector: { ...spec.nodeSelector } } : {}),
      ...(spec.tolerations !== undefined ? { tolerations: spec.tolerations.map((t) => ({ ...t })) } : {}),
      ...(spec.affinity !== undefined ? { affinity: spec.affinity } : {}),
      ...(spec.imagePullSecrets !== undefined
        ? { imagePullSecrets: spec.imagePullSecrets.map(({ name: secret }) => ({ name: secret })) }
        : {}),
      containers: [
        {
          name: 'agent',
          image: spec.image,
          ...(spec.command ? { command: [...spec.command] } : {}),
          ...(spec.args ? { args: [...spec.args] } : {}),
          ...(spec.workingDir !== undefined ? { workingDir: spec.workingDir } : {}),
          env: [{ name: 'AGENT_NAME', value: name }, { name: 'AGENT_NAMESPACE', value: namespace }, ...spec.env.map((e) => ({ ...e }))],
          ...(spec.envFrom?.length ? { envFrom: spec.envFrom.map((e) => ({ ...e })) } : {}),
          ...(spec.resources ? { resources: spec.resources } : {}),
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
          },
          // A read-only root needs somewhere to write scratch files.
          volumeMounts: [
            { name: 'tmp', mountPath: '/tmp' },
            ...(spec.workspace ? [{ name: 'workspace', mountPath: spec.workspace.mountPath }] : []),
          ],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }, ...workspaceVolume(spec)],
    },
  };
}
