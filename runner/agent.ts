import type { AgentSpec, AgentStatus } from '../operator/src/api/agent.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';

/**
 * What the runner reads of its Agent. The API server validated the object against the
 * CRD and applied its defaults, so the runner reads the fields as typed instead of
 * parsing them with the API's zod schemas (which it does not load); the fallbacks are
 * the CRD's defaults, for an object that somehow lacks them (agent.test.ts checks them).
 */
export interface AgentSettings {
  uid: string;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  maxConcurrentTasks: number;
  windowTokens: number | undefined;
  /** spec.runtime.workspace.mountPath: where a recycled agent's context summary is kept. */
  workspaceDir: string | undefined;
}

export function agentSettings(obj: KubeObject): AgentSettings {
  const spec = (obj.spec ?? {}) as Partial<AgentSpec>;
  return {
    uid: obj.metadata.uid ?? '',
    heartbeatIntervalMs: (spec.heartbeat?.intervalSeconds ?? 10) * 1000,
    heartbeatTimeoutMs: (spec.heartbeat?.timeoutSeconds ?? 30) * 1000,
    maxConcurrentTasks: spec.maxConcurrentTasks ?? 1,
    windowTokens: spec.context?.windowTokens,
    workspaceDir: spec.runtime?.workspace?.mountPath,
  };
}

/** The Agent's task counts (status.stats), zero when it has none yet. */
export function agentStats(obj: KubeObject): { succeeded: number; failed: number; consecutiveFailures: number } {
  const stats = (obj.status as AgentStatus | undefined)?.stats;
  return { succeeded: stats?.succeeded ?? 0, failed: stats?.failed ?? 0, consecutiveFailures: stats?.consecutiveFailures ?? 0 };
}
