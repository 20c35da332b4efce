import { API_VERSION, GROUP } from '../../api/common.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import type { ResourceType } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import type { AgentRef } from '../runtime.ts';
import { MANAGED_BY, AGENT_LABEL, serviceAccountName } from './pod-spec.ts';

/** The Role every agent of a namespace shares: what its runner needs, nothing more. */
export const AGENT_ROLE = 'agent-orchestrator-agent';

const ServiceAccounts: ResourceType = { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true };
const Roles: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true };
const RoleBindings: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true };

/**
 * The ServiceAccount an Agent runs as, the shared Role and the Agent's RoleBinding.
 * The chart's ValidatingAdmissionPolicy narrows these grants further: an agent may
 * write only its own Lease and the Tasks assigned to it.
 */
export function agentRbac(agent: AgentRef): { resource: ResourceType; object: KubeObject }[] {
  const { namespace, name, uid } = agent;
  const owner = [{ apiVersion: API_VERSION, kind: 'Agent', name, uid, controller: true, blockOwnerDeletion: true }];
  const labels = { ...MANAGED_BY, [AGENT_LABEL]: name };
  return [
    {
      resource: ServiceAccounts,
      object: { metadata: { name: serviceAccountName(name), namespace, labels, ownerReferences: owner } },
    },
    {
      resource: Roles,
      object: {
        metadata: { name: AGENT_ROLE, namespace, labels: MANAGED_BY },
        rules: [
          { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
          { apiGroups: [GROUP], resources: ['tasks'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [GROUP], resources: ['tasks/status'], verbs: ['get', 'update', 'patch'] },
          { apiGroups: [GROUP], resources: ['agents'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: [GROUP], resources: ['agents/status'], verbs: ['patch'] },
        ],
      },
    },
    {
      resource: RoleBindings,
      object: {
        metadata: { name: serviceAccountName(name), namespace, labels, ownerReferences: owner },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: AGENT_ROLE },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccountName(name), namespace }],
      },
    },
  ];
}

/**
 * Applies an Agent's RBAC. The shared Role is applied once per namespace per process
 * (it never differs between agents), which saves a request per agent on fleet starts.
 */
export class AgentRbac {
  private readonly writer: Writer;
  private readonly rolesApplied = new Set<string>();

  constructor(writer: Writer) {
    this.writer = writer;
  }

  async ensure(agent: AgentRef, signal?: AbortSignal): Promise<void> {
    for (const { resource, object } of agentRbac(agent)) {
      if (resource === Roles && this.rolesApplied.has(agent.namespace)) continue;
      await this.writer.apply(resource, object, signal);
      if (resource === Roles) this.rolesApplied.add(agent.namespace);
    }
  }
}
