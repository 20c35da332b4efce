import { POLICY_LABEL, TEMPLATE_HASH_ANNOTATION } from '../../api/common.ts';
import type { PoolMember } from '../../core/pool-plan.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { agentSpec, agentStatus, taskSpec, taskStatus } from '../resources.ts';

/** Agents by the policy that made them, as `namespace/policy`. */
export const AGENTS_BY_POLICY = 'policy';
export const agentsByPolicy = (agent: KubeObject): string[] => {
  const policy = agent.metadata.labels?.[POLICY_LABEL];
  return policy ? [`${agent.metadata.namespace ?? ''}/${policy}`] : [];
};

const ACTIVE = new Set(['Assigned', 'Running']);
const SETTLING = new Set(['Pending', 'Starting', 'Draining', 'Terminating']);
const parse = (t: string | undefined): number | undefined => {
  const ms = t === undefined ? NaN : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
};

/** The Ready condition's transition to True, if the agent is ready. */
export function readySince(agent: KubeObject): number | undefined {
  const ready = agentStatus(agent).conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' ? parse(ready.lastTransitionTime) : undefined;
}

/**
 * What the pool planner needs of one agent. `tasks` are those labelled with it: the
 * unfinished ones make it busy, and the latest history entry it wrote is when it last
 * worked. (Deleted tasks take that memory with them; the agent then counts as idle
 * since it became ready, which only makes it sleep sooner.)
 */
export function poolMember(agent: KubeObject, tasks: readonly KubeObject[], templateHash: string): PoolMember {
  const name = agent.metadata.name ?? '';
  const status = agentStatus(agent);
  const phase = status.phase;
  const ready = phase === 'Ready' || phase === 'Busy';
  const active = tasks.filter((t) => ACTIVE.has(String(taskStatus(t).phase))).length;
  let idleSince: number | undefined;
  if (ready && active === 0) {
    idleSince = readySince(agent) ?? 0;
    for (const t of tasks) {
      for (const h of taskStatus(t).history ?? []) {
        const at = h.agent === name ? parse(h.time) : undefined;
        if (at !== undefined && at > idleSince) idleSince = at;
      }
    }
  }
  const unobserved = (status.observedGeneration ?? 0) < (agent.metadata.generation ?? 0);
  return {
    name,
    asleep: agentSpec(agent).desiredState === 'Sleeping',
    ready,
    settling: phase === undefined || SETTLING.has(phase) || unobserved,
    active,
    idleSince,
    upToDate: agent.metadata.annotations?.[TEMPLATE_HASH_ANNOTATION] === templateHash,
  };
}

export interface PendingWork {
  count: number;
  /** Creation of the oldest, in ms. */
  oldest?: number;
}

/**
 * Pending tasks a pool's template can run: every required capability is in the template,
 * and a task pinned to an agent is pinned to one of the pool's.
 */
export function pendingFor(tasks: readonly KubeObject[], capabilities: readonly string[], members: ReadonlySet<string>): PendingWork {
  const can = new Set(capabilities);
  let count = 0;
  let oldest: number | undefined;
  for (const t of tasks) {
    const phase = taskStatus(t).phase;
    const spec = taskSpec(t);
    if ((phase !== undefined && phase !== 'Pending') || spec.cancel === true) continue;
    if (!(spec.requiredCapabilities ?? []).every((c) => can.has(c))) continue;
    if (spec.affinity?.agent !== undefined && !members.has(spec.affinity.agent)) continue;
    count++;
    const created = parse(t.metadata.creationTimestamp);
    if (created !== undefined && (oldest === undefined || created < oldest)) oldest = created;
  }
  return oldest === undefined ? { count } : { count, oldest };
}
