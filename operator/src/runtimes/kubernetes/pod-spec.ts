import { AGENT_LABEL, API_VERSION, RESTART_ANNOTATION } from '../../api/common.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import type { WorkloadSpec } from '../runtime.ts';

export { AGENT_LABEL };
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'agent-orchestrator' };
export const SPEC_HASH_ANNOTATION = 'agents.orchestrator.dev/spec-hash';

/** The Pod of Agent `name`: the name its Pod-bound token carries, so its identity. */
export const podName = (agent: string): string => `agent-${agent}`;
/** A Docker agent's own ServiceAccount: its identity, as it has no Pod. */
export const serviceAccountName = podName;
/**
 * The ServiceAccount every agent Pod of a namespace runs as. Not agent-<something>: that
 * would be a Docker agent's identity.
 */
export const POD_SERVICE_ACCOUNT = 'orchestrator-agents';

/**
 * An Agent's Pod: owned by the Agent (deleting it deletes the Pod), running as the
 * namespace's agent ServiceAccount with a token bound to the Pod, hardened to the
 * restricted Pod Security Standard.
 */
export function agentPod(spec: WorkloadSpec): KubeObject {
  const { namespace, name, uid } = spec.agent;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(name),
      namespace,
      labels: { ...MANAGED_BY, [AGENT_LABEL]: name },
      annotations: { [SPEC_HASH_ANNOTATION]: spec.specHash, ...(spec.restartedAt !== undefined ? { [RESTART_ANNOTATION]: spec.restartedAt } : {}) },
      ownerReferences: [{ apiVersion: API_VERSION, kind: 'Agent', name, uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      serviceAccountName: POD_SERVICE_ACCOUNT,
      restartPolicy: 'Always',
      enableServiceLinks: false,
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'agent',
          image: spec.image,
          ...(spec.command ? { command: [...spec.command] } : {}),
          ...(spec.args ? { args: [...spec.args] } : {}),
          env: [
            { name: 'AGENT_NAME', value: name },
            { name: 'AGENT_NAMESPACE', value: namespace },
            ...spec.env.map((e) => ({ ...e })),
          ],
          ...(spec.resources ? { resources: spec.resources } : {}),
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
          },
          // A read-only root needs somewhere to write scratch files.
          volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    },
  };
}
