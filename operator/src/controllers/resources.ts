// The operator's own objects as the cache holds them. The API server validated each one
// against the CRD schema generated from api/ (and filled in its defaults) before it
// reached the cache, so their spec and status have the API's types: they are typed here,
// once, rather than cast field by field at each use, and nothing is parsed a second time
// (a parsed copy of every cached Task would double the operator's memory).
import type { AgentSpec, AgentStatus } from '../api/agent.ts';
import type { Condition } from '../api/common.ts';
import type { PolicySpec, PolicyStatus } from '../api/policy.ts';
import type { TaskSpec, TaskStatus } from '../api/task.ts';
import type { KubeObject } from '../runtime/rest/object.ts';

export type HistoryEntry = NonNullable<TaskStatus['history']>[number];

export const taskSpec = (t: KubeObject): Partial<TaskSpec> => t.spec ?? {};
export const taskStatus = (t: KubeObject): TaskStatus => t.status ?? {};
export const agentSpec = (a: KubeObject): Partial<AgentSpec> => a.spec ?? {};
export const agentStatus = (a: KubeObject): AgentStatus => a.status ?? {};
export const policySpec = (p: KubeObject): Partial<PolicySpec> => p.spec ?? {};
export const policyStatus = (p: KubeObject): PolicyStatus => p.status ?? {};

/** A status condition of any of them, by type. */
export const conditionOf = (o: KubeObject | undefined, type: string): Condition | undefined =>
  ((o?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);
