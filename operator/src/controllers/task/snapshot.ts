import { POOL_LABEL } from '../../api/common.ts';
import type { AgentFacts, Holding } from '../../framework/agent-cache.ts';
import type { AgentCondition, TaskInfo } from '../../framework/types.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { keyOf } from '../../runtime/rest/object.ts';
import { agentSpec, agentStatus, conditionOf, taskSpec, taskStatus } from '../resources.ts';

const ACTIVE = new Set(['Assigned', 'Running']);

/** What routing knows of a waiting task. */
export function taskInfo(task: KubeObject): TaskInfo {
  const spec = taskSpec(task);
  const status = taskStatus(task);
  const queued = status.queuedAt ?? task.metadata.creationTimestamp;
  return {
    key: keyOf(task),
    namespace: task.metadata.namespace ?? '',
    name: task.metadata.name ?? '',
    required: spec.requiredCapabilities ?? [],
    preferred: spec.preferredCapabilities ?? [],
    priority: spec.priority ?? 100,
    queuedAt: queued ? Date.parse(queued) : 0,
    ...(spec.affinity ? { affinity: spec.affinity } : {}),
    ...(spec.estimatedTokens !== undefined ? { estimatedTokens: spec.estimatedTokens } : {}),
    ...(task.metadata.labels ? { labels: task.metadata.labels } : {}),
    ...(task.metadata.annotations ? { annotations: task.metadata.annotations } : {}),
    ...(task.metadata.generation !== undefined ? { generation: task.metadata.generation } : {}),
  };
}

/**
 * When the router may place a task: undefined when never as it is (assigned, running,
 * finished, cancelled, or blocked on dependencies), else from this time in ms (0: now,
 * or when its backoff ends).
 */
export function routableAt(task: KubeObject): number | undefined {
  const status = taskStatus(task);
  const spec = taskSpec(task);
  if (spec.cancel) return undefined;
  const fresh = status.phase === undefined && (spec.dependsOn ?? []).length === 0;
  if (status.phase !== 'Pending' && !fresh) return undefined;
  return status.retryAt === undefined ? 0 : Date.parse(status.retryAt) || 0;
}

/** What a task adds to the load of the agent it is assigned to, if any. */
export function holdingOf(task: KubeObject): Holding | undefined {
  const status = taskStatus(task);
  const assignment = status.assignment;
  if (!assignment) return undefined;
  const context = taskSpec(task).affinity?.contextKey;
  return {
    agent: `${task.metadata.namespace ?? ''}/${assignment.agent}`,
    active: status.phase !== undefined && ACTIVE.has(status.phase),
    assignedAt: Date.parse(assignment.assignedAt),
    ...(context ? { contextKey: context } : {}),
  };
}

// Once per cached object: every routing cycle asks for every agent's.
const conditionsByAgent = new WeakMap<KubeObject, Record<string, AgentCondition>>();

/** The Agent's conditions by type, as routing plugins read them. */
function conditionsOf(agent: KubeObject): Record<string, AgentCondition> {
  let conditions = conditionsByAgent.get(agent);
  if (conditions === undefined) {
    const list = agentStatus(agent).conditions ?? [];
    conditions = Object.fromEntries(
      list.map((c) => [c.type, { status: c.status, reason: c.reason, lastTransitionTime: c.lastTransitionTime }]),
    );
    conditionsByAgent.set(agent, conditions);
  }
  return conditions;
}

/** What routing knows of an agent from its own object; the router's cache adds its load. */
export function agentFacts(agent: KubeObject): AgentFacts {
  const spec = agentSpec(agent);
  const phase = agentStatus(agent).phase;
  const healthy = conditionOf(agent, 'Healthy')?.status === 'True';
  const pool = agent.metadata.labels?.[POOL_LABEL];
  const window = spec.context;
  return {
    key: keyOf(agent),
    namespace: agent.metadata.namespace ?? '',
    name: agent.metadata.name ?? '',
    capabilities: new Set(spec.capabilities ?? []),
    maxConcurrentTasks: spec.maxConcurrentTasks ?? 1,
    ready: (phase === 'Ready' || phase === 'Busy') && healthy,
    sleeping: spec.desiredState === 'Sleeping' || phase === 'Sleeping',
    leaving: agent.metadata.deletionTimestamp !== undefined || phase === 'Draining' || phase === 'Terminating',
    conditions: conditionsOf(agent),
    ...(pool ? { pool } : {}),
    ...(agent.metadata.labels ? { labels: agent.metadata.labels } : {}),
    ...(window
      ? {
          context: {
            windowTokens: window.windowTokens,
            compactAtPercent: window.compactAtPercent,
            tokens: agentStatus(agent).contextUsage?.tokens ?? 0,
          },
        }
      : {}),
  };
}

/** The runner process that holds an agent's heartbeat Lease; undefined when released or missing. */
export const leaseHolder = (lease: KubeObject | undefined): string | undefined =>
  (lease?.spec as { holderIdentity?: string } | undefined)?.holderIdentity || undefined;

/** When the agent's workload last started, as the agent controller recorded it. */
export const workloadStartedAt = (agent: KubeObject | undefined): string | undefined =>
  agent ? agentStatus(agent).workload?.startedAt : undefined;

/** A Lease changed hands: another runner process (or none) heartbeats for the agent. */
export function holderChanged(oldLease: KubeObject, newLease: KubeObject): boolean {
  return leaseHolder(oldLease) !== leaseHolder(newLease);
}

/**
 * An agent update that can change what happens to its tasks: health, phase, desired state,
 * deletion, a restart of its workload. Outcome counters (stats), written after every
 * task, are not among them.
 */
export function availabilityChanged(oldAgent: KubeObject, newAgent: KubeObject): boolean {
  const phase = (o: KubeObject): unknown => agentStatus(o).phase;
  const desired = (o: KubeObject): unknown => agentSpec(o).desiredState;
  return (
    phase(oldAgent) !== phase(newAgent) ||
    desired(oldAgent) !== desired(newAgent) ||
    oldAgent.metadata.deletionTimestamp !== newAgent.metadata.deletionTimestamp ||
    conditionOf(oldAgent, 'Healthy')?.status !== conditionOf(newAgent, 'Healthy')?.status ||
    workloadStartedAt(oldAgent) !== workloadStartedAt(newAgent)
  );
}
