import { API_VERSION, GROUP } from '../../api/common.ts';
import { untilAborted, type Clock } from '../../runtime/clock.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import type { ResourceType } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import type { AgentRef } from '../runtime.ts';
import { AGENT_LABEL, MANAGED_BY, POD_SERVICE_ACCOUNT, serviceAccountName } from './pod-spec.ts';

/** The Role every agent of a namespace shares: what its runner needs, nothing more. */
export const AGENT_ROLE = 'agent-orchestrator-agent';

const ServiceAccounts: ResourceType = { group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true };
const Roles: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true };
const RoleBindings: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true };

// Namespace objects are applied again after this long, so one deleted by hand comes back
// without an operator restart, at three requests per namespace, not per agent.
const NAMESPACE_REAPPLY_MS = 10 * 60_000;

type Grant = { resource: ResourceType; object: KubeObject };

const binding = (name: string, namespace: string, serviceAccount: string, extra: KubeObject['metadata'] = {}): KubeObject => ({
  metadata: { name, namespace, labels: MANAGED_BY, ...extra },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: AGENT_ROLE },
  subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
});

/**
 * What the agents of a namespace share: the Role, and the ServiceAccount every agent Pod
 * runs as with its RoleBinding. A Pod's token is bound to the Pod, so the chart's
 * ValidatingAdmissionPolicy tells agents apart by the Pod name in it (agent-<name>) and
 * narrows the Role to each agent's own Lease, status and Tasks.
 */
export function namespaceRbac(namespace: string): Grant[] {
  return [
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
    { resource: ServiceAccounts, object: { metadata: { name: POD_SERVICE_ACCOUNT, namespace, labels: MANAGED_BY } } },
    { resource: RoleBindings, object: binding(POD_SERVICE_ACCOUNT, namespace, POD_SERVICE_ACCOUNT) },
  ];
}

/**
 * An agent's own ServiceAccount agent-<name> and its RoleBinding to the agents' Role,
 * owned by the Agent. A Docker agent's identity: a container has no Pod to bind a token
 * to, so the account's name says who it is. A Pod agent's when its spec gives the account
 * annotations (cloud workload identity, ADR 0015); applied again, an annotation removed
 * from the spec goes from the account.
 */
export function agentAccountRbac(agent: AgentRef, annotations?: Readonly<Record<string, string>>): Grant[] {
  const { namespace, name, uid } = agent;
  const ownerReferences = [{ apiVersion: API_VERSION, kind: 'Agent', name, uid, controller: true, blockOwnerDeletion: true }];
  const labels = { ...MANAGED_BY, [AGENT_LABEL]: name };
  const account = { name: serviceAccountName(name), namespace, labels, ownerReferences, ...(annotations ? { annotations: { ...annotations } } : {}) };
  return [
    { resource: ServiceAccounts, object: { metadata: account } },
    { resource: RoleBindings, object: binding(serviceAccountName(name), namespace, serviceAccountName(name), { labels, ownerReferences }) },
  ];
}

/**
 * Applies agents' RBAC. A namespace's shared objects are applied once per namespace (and
 * again every few minutes), not per agent: on a fleet start that is most of the requests
 * a new agent used to cost.
 */
export class AgentRbac {
  private readonly writer: Pick<Writer, 'apply'>;
  private readonly clock: Clock;
  private readonly applied = new Map<string, number>();
  /** Applies in flight, so the workers starting a namespace's first agents wait for one. */
  private readonly applying = new Map<string, Promise<void>>();

  constructor(writer: Pick<Writer, 'apply'>, clock: Clock) {
    this.writer = writer;
    this.clock = clock;
  }

  async ensureNamespace(namespace: string, signal?: AbortSignal): Promise<void> {
    const at = this.applied.get(namespace);
    if (at !== undefined && this.clock.now() - at < NAMESPACE_REAPPLY_MS) return;
    let applying = this.applying.get(namespace);
    if (!applying) {
      // Shared by every worker that waits on it, so it runs under no caller's signal (a
      // reconcile aborted first must not fail the others); each stops waiting on its own.
      applying = this.applyNamespace(namespace).finally(() => this.applying.delete(namespace));
      // Handled here too: it may fail after every waiter has stopped waiting.
      applying.catch(() => undefined);
      this.applying.set(namespace, applying);
    }
    await untilAborted(applying, signal);
  }

  /** After a failure that may come from a missing object: the next ensure applies them again. */
  forgetNamespace(namespace: string): void {
    this.applied.delete(namespace);
  }

  private async applyNamespace(namespace: string): Promise<void> {
    for (const { resource, object } of namespaceRbac(namespace)) await this.writer.apply(resource, object);
    this.applied.set(namespace, this.clock.now());
  }

  async ensureDockerAgent(agent: AgentRef, signal?: AbortSignal): Promise<void> {
    await this.ensureAgentAccount(agent, undefined, signal);
  }

  /** The agent's own account and binding (with the namespace's objects first, the Role among them). */
  async ensureAgentAccount(agent: AgentRef, annotations: Readonly<Record<string, string>> | undefined, signal?: AbortSignal): Promise<void> {
    await this.ensureNamespace(agent.namespace, signal);
    for (const { resource, object } of agentAccountRbac(agent, annotations)) await this.writer.apply(resource, object, signal);
  }
}
