import { API_VERSION, GROUP } from '../../api/common.ts';
import { NO_GRANTS, type TaskGrants } from '../../core/task-grants.ts';
import { ApiError, isAlreadyExists } from '../../runtime/errors.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { RoleBindings, Roles, ServiceAccounts, collectionPath, objectPath } from '../../runtime/rest/resource.ts';
import type { Writer } from '../../runtime/writer.ts';
import type { AgentRef } from '../runtime.ts';
import { agentIdentity, type Rule } from './agent-role.ts';
import { AGENT_LABEL, MANAGED_BY } from './pod-spec.ts';

const ownerOf = (agent: AgentRef): NonNullable<KubeObject['metadata']['ownerReferences']> => [
  { apiVersion: API_VERSION, kind: 'Agent', name: agent.name, uid: agent.uid, controller: true, blockOwnerDeletion: true },
];

/**
 * Agent `agent`'s own Role: what its runner needs, by name wherever RBAC can name it. Its
 * heartbeat Lease (created before it has a name to check: the admission policy narrows
 * that), its Agent, this Role (where it learns which Tasks are its own), and the Tasks in
 * `grants`. RBAC reads an empty resourceNames as every name, so a rule with no Task to
 * name is left out rather than emptied.
 */
export function agentRole(agent: AgentRef, grants: TaskGrants): KubeObject {
  const own = agentIdentity(agent.name);
  const rules: Rule[] = [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], resourceNames: [own], verbs: ['get', 'update'] },
    { apiGroups: [GROUP], resources: ['agents'], resourceNames: [agent.name], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [GROUP], resources: ['agents/status'], resourceNames: [agent.name], verbs: ['patch'] },
    { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], resourceNames: [own], verbs: ['get', 'list', 'watch'] },
  ];
  if (grants.read.length > 0)
    rules.push({ apiGroups: [GROUP], resources: ['tasks'], resourceNames: [...grants.read], verbs: ['get', 'list', 'watch'] });
  if (grants.write.length > 0)
    rules.push({ apiGroups: [GROUP], resources: ['tasks/status'], resourceNames: [...grants.write], verbs: ['get', 'update', 'patch'] });
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: {
      name: own,
      namespace: agent.namespace,
      labels: { ...MANAGED_BY, [AGENT_LABEL]: agent.name },
      ownerReferences: ownerOf(agent),
    },
    rules,
  };
}

/**
 * An agent's ServiceAccount and the RoleBinding of its Role, owned by the Agent (the Role
 * is created with them, naming no Task; the task controller keeps the Tasks it names,
 * controllers/task/grants.ts).
 * With `annotations` from the spec (cloud workload identity, ADR 0015); applied again, an
 * annotation removed from the spec goes from the account.
 */
export function agentAccount(
  agent: AgentRef,
  annotations?: Readonly<Record<string, string>>,
): { account: KubeObject; binding: KubeObject } {
  const name = agentIdentity(agent.name);
  const metadata = {
    name,
    namespace: agent.namespace,
    labels: { ...MANAGED_BY, [AGENT_LABEL]: agent.name },
    ownerReferences: ownerOf(agent),
  };
  return {
    account: { metadata: { ...metadata, ...(annotations ? { annotations: { ...annotations } } : {}) } },
    binding: {
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: agent.namespace }],
    },
  };
}

/** A RoleBinding's roleRef cannot change: the API server refuses the apply as Invalid. */
const isRoleRefChange = (err: unknown): boolean => err instanceof ApiError && err.status === 422 && /roleRef/.test(err.message);

/**
 * Applies agents' ServiceAccounts and RoleBindings: once per Agent and annotations in this
 * process, not on every Pod creation (a fleet that sleeps and wakes would pay two
 * requests a wake), and again after `forget` (a workload creation failed: one of them may
 * have been deleted).
 */
export class AgentRbac {
  private readonly writer: Pick<Writer, 'apply'>;
  private readonly client: Pick<RestClient, 'request'>;
  /** Agent UID → the annotations applied with its account. */
  private readonly applied = new Map<string, string>();

  constructor(writer: Pick<Writer, 'apply'>, client: Pick<RestClient, 'request'>) {
    this.writer = writer;
    this.client = client;
  }

  async ensureAgentAccount(
    agent: AgentRef,
    annotations: Readonly<Record<string, string>> | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    const key = JSON.stringify(annotations ?? {});
    if (this.applied.get(agent.uid) === key) return;
    const { account, binding } = agentAccount(agent, annotations);
    // The Role before its binding: RBAC lets the operator bind only a Role whose
    // permissions it can see it holds.
    await Promise.all([this.writer.apply(ServiceAccounts, account, signal), this.createRole(agent, signal)]);
    await this.applyBinding(agent, binding, signal);
    this.applied.set(agent.uid, key);
  }

  /** Created naming no Task, or left as it is: the task controller keeps the Tasks it names. */
  private async createRole(agent: AgentRef, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.request('POST', collectionPath(Roles, agent.namespace), {
        body: agentRole(agent, NO_GRANTS),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }

  forget(agent: AgentRef): void {
    this.applied.delete(agent.uid);
  }

  /**
   * An agent made before ADR 0016 has a binding of this name to the namespace's shared
   * Role, which let it read every Task: replaced (deleted with a uid precondition, so only
   * that one, then created) rather than left in place.
   */
  private async applyBinding(agent: AgentRef, binding: KubeObject, signal?: AbortSignal): Promise<void> {
    try {
      await this.writer.apply(RoleBindings, binding, signal);
      return;
    } catch (err) {
      if (!isRoleRefChange(err)) throw err;
    }
    const path = objectPath(RoleBindings, agent.namespace, binding.metadata.name ?? '');
    const old = await this.client.request<KubeObject>('GET', path, signal ? { signal } : {});
    if (!old.metadata.ownerReferences?.some((r) => r.uid === agent.uid)) {
      throw new Error(
        `RoleBinding ${binding.metadata.name ?? ''} is not this Agent's: delete it so the operator can bind the agent's own Role`,
      );
    }
    await this.client.request('DELETE', path, {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: old.metadata.uid } },
      ...(signal ? { signal } : {}),
    });
    await this.client.request('POST', collectionPath(RoleBindings, agent.namespace), {
      body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', ...binding },
      ...(signal ? { signal } : {}),
    });
  }
}
