import type { AgentRef, WorkloadSpec } from '../runtime.ts';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const MANAGER = 'agent-orchestrator';
export const NAMESPACE_LABEL = 'agents.orchestrator.dev/namespace';
export const NAME_LABEL = 'agents.orchestrator.dev/name';
export const UID_LABEL = 'agents.orchestrator.dev/uid';
export const SPEC_HASH_LABEL = 'agents.orchestrator.dev/spec-hash';
/** The restart request the container was made under (see WorkloadSpec.restartedAt). */
export const RESTART_LABEL = 'agents.orchestrator.dev/restartedAt';

/**
 * Namespaces are DNS labels (no dots), so the first dot after the prefix ends the
 * namespace and two agents never share a container name.
 */
export function containerName(agent: AgentRef): string {
  return `ao.${agent.namespace}.${agent.name}`;
}

/** Whose an object on the engine is (a container, a workspace volume): agentOf reads them back. */
export function agentLabels(agent: AgentRef): Record<string, string> {
  return { [MANAGED_BY]: MANAGER, [NAMESPACE_LABEL]: agent.namespace, [NAME_LABEL]: agent.name, [UID_LABEL]: agent.uid };
}

export function workloadLabels(spec: WorkloadSpec): Record<string, string> {
  return {
    ...agentLabels(spec.agent),
    [SPEC_HASH_LABEL]: spec.specHash,
    ...(spec.restartedAt !== undefined ? { [RESTART_LABEL]: spec.restartedAt } : {}),
  };
}

/** The Agent a managed container belongs to, or undefined when its labels are incomplete. */
export function agentOf(labels: Readonly<Record<string, string>> | undefined): AgentRef | undefined {
  const namespace = labels?.[NAMESPACE_LABEL];
  const name = labels?.[NAME_LABEL];
  const uid = labels?.[UID_LABEL];
  if (labels?.[MANAGED_BY] !== MANAGER || !namespace || !name || !uid) return undefined;
  return { namespace, name, uid };
}

/** Docker's list filter for managed containers carrying every given label. */
export function labelFilter(labels: Readonly<Record<string, string>> = {}): { label: string[] } {
  return { label: Object.entries({ [MANAGED_BY]: MANAGER, ...labels }).map(([k, v]) => `${k}=${v}`) };
}
