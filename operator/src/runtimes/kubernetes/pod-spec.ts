import { AGENT_LABEL, API_VERSION, RESTART_ANNOTATION } from '../../api/common.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import type { WorkloadSpec } from '../runtime.ts';

export { AGENT_LABEL };
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'agent-orchestrator' };
export const SPEC_HASH_ANNOTATION = 'agents.orchestrator.dev/spec-hash';

/** The Pod (and ServiceAccount) of Agent `name`. */
export const podName = (agent: string): string => `agent-${agent}`;
export const serviceAccountName = podName;

/**
 * An Agent's Pod: owned by the Agent (deleting it deletes the Pod), running as the
 * Agent's ServiceAccount, hardened to the restricted Pod Security Standard.
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
      serviceAccountName: serviceAccountName(name),
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
