import {
  definePlugin,
  success,
  unresolvable,
  type AgentInfo,
  type AgentObject,
  type Intent,
  type NamespaceSnapshot,
} from '../../operator/src/framework/index.ts';
import { threatDetectionAdmission, threatDetectionConfig, type ThreatDetectionConfig } from './config.ts';
import { CONDITION, decide, REASON, RELEASE_ANNOTATION, type Decision, type Previous } from './judge.ts';

export { threatDetectionConfig, type ThreatDetectionConfig } from './config.ts';
export { CONDITION, REASON, RELEASE_ANNOTATION } from './judge.ts';
export const FILTER_REASON = 'quarantined: its identity keeps trying what it may not';

/** Whether the lifecycle part holds the agent in quarantine (its Quarantined condition). */
export function isQuarantined(conditions: AgentInfo['conditions']): boolean {
  const c = conditions[CONDITION];
  return c?.status === 'True' && c.reason === REASON.quarantined;
}

function previousOf(agent: AgentObject): Previous | undefined {
  const c = agent.status?.conditions?.find((x) => x.type === CONDITION);
  return c ? { status: c.status, reason: c.reason, message: c.message, since: Date.parse(c.lastTransitionTime) } : undefined;
}

/** Tasks each agent holds or held: refusals about them are RBAC's lag, not evidence. */
function tasksByAgent(snapshot: NamespaceSnapshot): Map<string, Set<string>> {
  const byAgent = new Map<string, Set<string>>();
  const add = (agent: string, task: string): void => {
    let set = byAgent.get(agent);
    if (set === undefined) byAgent.set(agent, (set = new Set()));
    set.add(task);
  };
  for (const t of snapshot.tasks) {
    const assigned = t.status?.assignment?.agent;
    if (assigned !== undefined) add(assigned, t.metadata.name);
    for (const h of t.status?.history ?? []) add(h.agent, t.metadata.name);
  }
  return byAgent;
}

const NO_TASKS: ReadonlySet<string> = new Set();

/** The condition, an Event and the agent action on a change, and gauges, for one agent. */
export function agentIntents(agent: AgentObject, decision: Decision, config: ThreatDetectionConfig): Intent[] {
  const name = agent.metadata.name;
  const target = { kind: 'Agent', name } as const;
  const intents: Intent[] = [];
  if (decision.condition !== undefined) {
    intents.push({
      kind: 'condition',
      target,
      condition: { type: CONDITION, ...decision.condition },
      ...(decision.since === undefined ? {} : { since: decision.since }),
    });
  }
  if (decision.changed && decision.condition !== undefined) {
    const quarantined = decision.state === 'quarantined';
    intents.push({
      kind: 'event',
      target,
      type: quarantined ? 'Warning' : 'Normal',
      reason: decision.condition.reason,
      message: decision.condition.message,
    });
    if (!quarantined && config.action === 'Stop') {
      intents.push({ kind: 'agent', agent: name, action: 'wake', reason: decision.condition.reason, message: 'quarantine released' });
    }
  }
  // Level-based: an agent asleep for its quarantine is kept asleep until it is released,
  // even if the operator restarted between the condition and the sleep.
  if (decision.state === 'quarantined' && config.action === 'Stop') {
    intents.push({
      kind: 'agent',
      agent: name,
      action: 'sleep',
      reason: REASON.quarantined,
      message: 'quarantined for repeated refusals: its workload is stopped until it is released',
    });
  }
  if (decision.requeueAfterMs !== undefined) intents.push({ kind: 'requeue', afterMs: decision.requeueAfterMs });
  const labels = { agent: name };
  intents.push(
    {
      kind: 'metric',
      name: 'threat_refusals',
      help: 'Refusals of the agent’s identity counted in the threat-detection window (the larger of runner-reported and audited)',
      labels,
      value: decision.count,
    },
    {
      kind: 'metric',
      name: 'threat_quarantined',
      help: 'Whether the threat-detection plugin holds the agent in quarantine (1)',
      labels,
      value: decision.state === 'quarantined' ? 1 : 0,
    },
  );
  return intents;
}

/**
 * Threat detection: counts the refusals (403) of each agent's identity, as its runner
 * reports them and as the API server's audit log shows them (status.refusals), and
 * quarantines an agent that keeps trying what it may not: Quarantined=True with what it
 * tried, a Warning Event, no new tasks (Filter), and with action Stop its workload put to
 * sleep. Released by a person (the release-quarantine annotation) or after a cooldown.
 */
export const threatDetection = definePlugin({
  name: 'threat-detection',
  config: threatDetectionConfig,
  admission: threatDetectionAdmission,
  routing: () => ({
    filter(_task, agent) {
      return isQuarantined(agent.conditions) ? unresolvable(FILTER_REASON) : success;
    },
  }),
  lifecycle: (config) => {
    const settings = { threshold: config.threshold, windowMs: config.windowSeconds * 1000, cooldownMs: config.cooldownSeconds * 1000 };
    return {
      onTick(snapshot) {
        const agents = snapshot.agents.filter((a) => a.metadata.deletionTimestamp === undefined);
        // Only agents with refusals or a condition need the tasks (typed lazily by the host).
        const involved = agents.filter((a) => a.status?.refusals !== undefined || previousOf(a) !== undefined);
        const tasks = involved.length > 0 ? tasksByAgent(snapshot) : new Map<string, Set<string>>();
        return agents.flatMap((a) => {
          const name = a.metadata.name;
          const decision = decide({
            now: snapshot.now,
            agent: name,
            sources: [a.status?.refusals?.reported, a.status?.refusals?.audited],
            own: { agent: name, tasks: tasks.get(name) ?? NO_TASKS },
            previous: previousOf(a),
            annotation: a.metadata.annotations?.[RELEASE_ANNOTATION],
            settings,
          });
          return agentIntents(a, decision, config);
        });
      },
    };
  },
});
