// The API's names, without its schemas: the runner reads these and loads no zod.

export const GROUP = 'agents.orchestrator.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** On an agent's Pod, Lease, ServiceAccount: its Agent. */
export const AGENT_LABEL = `${GROUP}/agent`;
/**
 * The field selector of the Tasks assigned to an agent (a selectable field of the Task
 * CRD), for whoever may list Tasks. The assignment lives only in status, so the router
 * assigns with one write; a runner may not list, it reads its Tasks by the names its Role
 * gives (ADR 0016).
 */
export const assignedTo = (agent: string): string => `status.assignment.agent=${agent}`;
/** On an Agent a policy made: the pool it belongs to. */
export const POOL_LABEL = `${GROUP}/pool`;
/** On an Agent a policy made: the OrchestratorPolicy that owns it. */
export const POLICY_LABEL = `${GROUP}/policy`;
/** On an Agent a policy made: the hash of the pool template it was made from. */
export const TEMPLATE_HASH_ANNOTATION = `${GROUP}/template-hash`;
/**
 * On an Agent: when a restart of its workload was last asked for (RFC 3339), as `kubectl
 * rollout restart` does. The plugin host writes it for a `restart` intent; the agent
 * controller replaces a workload that started before it.
 */
export const RESTART_ANNOTATION = `${GROUP}/restartedAt`;
/**
 * On every Agent: its deletion drains and removes the workload first. The operator adds
 * it; whoever creates an Agent may set it already (pools do), saving a request per agent.
 */
export const WORKLOAD_FINALIZER = `${GROUP}/workload`;

/** Finished attempts an Agent keeps in status.stats.recent. */
export const RECENT_OUTCOMES = 32;

/**
 * The Agent condition that holds a context compaction cycle. The context plugin writes
 * Draining, Compacting, Recycling and the end; the runner answers with these reasons.
 */
export const CONTEXT_COMPACTION_CONDITION = 'ContextCompaction';
export const COMPACTION_ANSWERS = { compacted: 'CompactDone', recycled: 'RecycleDone', cannot: 'CannotCompact' } as const;

/** Refusal entries an Agent keeps per source in status.refusals. */
export const RECENT_REFUSALS = 32;
