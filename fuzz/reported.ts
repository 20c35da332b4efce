// What "reported" means for each kind: after the fuzz settles, every object the API
// server accepted either is in a state that says what happens next, or carries a
// condition whose message says why it cannot go on. Pure: objects in, findings out.

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export interface Obj {
  metadata: { name?: string; namespace?: string; generation?: number; deletionTimestamp?: string };
  spec?: Record<string, unknown>;
  status?: {
    phase?: string;
    conditions?: Condition[];
    observedGeneration?: number;
    retryAt?: string;
    assignment?: { agent?: string };
    history?: { reason?: string }[];
  };
}

/** Why an object is not reported, or undefined when it is. */
export type Finding = string | undefined;

const condition = (o: Obj, type: string): Condition | undefined => o.status?.conditions?.find((c) => c.type === type);

/** The namespace as the checks see it: which agents and tasks exist now. */
export interface World {
  agents: ReadonlySet<string>;
  tasks: ReadonlySet<string>;
}

export function taskFinding(task: Obj, world: World, now = Date.now()): Finding {
  const phase = task.status?.phase;
  const scheduled = condition(task, 'Scheduled');
  const spec = task.spec ?? {};
  switch (phase) {
    case undefined:
      return 'no phase: the operator never reported on it';
    case 'Pending': {
      if (!scheduled || scheduled.status !== 'False' || !scheduled.message) return 'Pending without a Scheduled=False condition saying why';
      // Backing off after a failed attempt, its message says until when: the pin is judged
      // once it is routed again (its agent may have gone after the attempt failed on it).
      const retryAt = Date.parse(task.status?.retryAt ?? '');
      if (scheduled.reason === 'BackingOff' && retryAt > now) return undefined;
      const pinned = (spec.affinity as { agent?: string } | undefined)?.agent;
      // The message gives each agent's first reason: one that rules out every agent (a
      // capability none has) may stand in front of the missing pin.
      if (pinned && !world.agents.has(pinned) && !scheduled.message.includes(pinned) && !/lack capability/.test(scheduled.message))
        return `pinned to agent ${pinned}, which does not exist, and the Scheduled message does not name it: ${scheduled.message}`;
      return undefined;
    }
    case 'Blocked': {
      if (!scheduled || scheduled.status !== 'False' || !scheduled.reason?.startsWith('Dependenc') || !scheduled.message)
        return `Blocked without a Scheduled=False Dependencies* condition (${scheduled?.reason ?? 'none'})`;
      const missing = ((spec.dependsOn as string[] | undefined) ?? []).filter((d) => !world.tasks.has(d));
      if (missing.length > 0 && !missing.some((m) => scheduled.message?.includes(m)))
        return `depends on ${missing.join(', ')}, which do not exist, and the message names none of them: ${scheduled.message}`;
      return undefined;
    }
    case 'Assigned':
    case 'Running': {
      const agent = task.status?.assignment?.agent;
      if (!agent) return `${phase} without status.assignment.agent`;
      if (!world.agents.has(agent)) return `${phase} on agent ${agent}, which no longer exists: never handed back`;
      return undefined;
    }
    case 'Failed': {
      const finished = condition(task, 'Finished');
      const last = task.status?.history?.at(-1);
      if (!finished?.message && !last?.reason) return 'Failed with neither a Finished condition nor a reason in history';
      return undefined;
    }
    case 'Succeeded':
    case 'Cancelled':
      return undefined;
    default:
      return `unknown phase ${phase}`;
  }
}

export function agentFinding(agent: Obj, now: number, stuckAfterMs: number): Finding {
  const deleting = agent.metadata.deletionTimestamp;
  if (deleting && now - Date.parse(deleting) > stuckAfterMs)
    return `deleted ${Math.round((now - Date.parse(deleting)) / 1000)} s ago and still there (phase ${agent.status?.phase ?? 'none'})`;
  if (deleting) return undefined;
  const phase = agent.status?.phase;
  if (!phase) return 'no phase: the operator never reported on it';
  const ready = condition(agent, 'Ready');
  if (!ready?.reason) return `phase ${phase} without a Ready condition`;
  if (phase === 'Failed' && (ready.status !== 'False' || !ready.message)) return `Failed, but Ready is ${ready.status} with no message`;
  return undefined;
}

export function policyFinding(policy: Obj): Finding {
  if (policy.metadata.deletionTimestamp) return undefined;
  const ready = condition(policy, 'Ready');
  if (!ready?.reason) return 'no Ready condition';
  const generation = policy.metadata.generation ?? 0;
  const observed = policy.status?.observedGeneration ?? ready.observedGeneration ?? 0;
  if (observed < generation) return `status is of generation ${observed}, the spec is at ${generation}`;
  if (ready.status === 'False') {
    if (!ready.message) return `Ready=False (${ready.reason}) without a message`;
    if ((ready.reason === 'InvalidPluginConfig' || ready.reason === 'InvalidSpec') && !/spec\.|plugin/.test(ready.message))
      return `Ready=False (${ready.reason}) and the message names no field: ${ready.message}`;
  }
  return undefined;
}

/**
 * The fields an API server refusal names, as one short reason: "spec.runtime.image: Too
 * long" (indices folded), or the status code and reason when it names none.
 */
export function refusalReason(status: number, reason: string, message: string): string {
  const fields = new Set<string>();
  for (const m of message.matchAll(/((?:spec|metadata)(?:\.[\w-]+|\[[^\]]*\])*): ([A-Z][a-z]+(?: [a-z]+)?)/g))
    fields.add(`${(m[1] ?? '').replace(/\[[^\]]*\]/g, '[*]')}: ${m[2] ?? ''}`);
  if (fields.size === 0) return `${status} ${reason}`;
  return [...fields].sort().join(' + ');
}
