import type { IndexFunc } from '../runtime/cache/store.ts';
import type { KubeObject } from '../runtime/rest/object.ts';

/** Tasks by the Agent they are assigned to, as `namespace/agent`. */
export const TASKS_BY_AGENT = 'agent';
export const tasksByAgent: IndexFunc<KubeObject> = (task) => {
  const agent = (task.status as { assignment?: { agent?: unknown } } | undefined)?.assignment?.agent;
  return typeof agent === 'string' && agent ? [`${task.metadata.namespace ?? ''}/${agent}`] : [];
};

/** Agents by each of their capabilities. */
export const AGENTS_BY_CAPABILITY = 'capability';
export const agentsByCapability: IndexFunc<KubeObject> = (agent) => {
  const spec = agent.spec as { capabilities?: unknown } | undefined;
  return Array.isArray(spec?.capabilities) ? spec.capabilities.filter((c): c is string => typeof c === 'string') : [];
};

/** Tasks by namespace. */
export const TASKS_BY_NAMESPACE = 'namespace';
export const tasksByNamespace: IndexFunc<KubeObject> = (task) => [task.metadata.namespace ?? ''];
