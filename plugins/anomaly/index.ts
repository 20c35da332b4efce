import { POOL_LABEL } from '../../operator/src/api/names.ts';
import {
  definePlugin,
  success,
  unresolvable,
  unschedulable,
  type AgentInfo,
  type AgentObject,
  type Intent,
  type NamespaceSnapshot,
} from '../../operator/src/framework/index.ts';
import { anomalyAdmission, anomalyConfig, type AnomalyConfig } from './config.ts';
import { judge, type Attempt, type KindFigures } from './detect.ts';
import { CONDITION, decideQuarantine, REASON, type Decision, type Previous } from './quarantine.ts';

export { anomalyConfig, type AnomalyConfig } from './config.ts';
export const GUARD_CONDITION = 'AnomalyGuard';
export const FILTER_REASONS = { quarantined: 'quarantined as anomalous', probing: 'anomaly probe running' } as const;

/** The quarantine as the lifecycle part last wrote it in the agent's Degraded condition. */
export function quarantineOf(conditions: AgentInfo['conditions']): 'none' | 'quarantined' | 'probing' {
  const c = conditions[CONDITION];
  if (c?.status !== 'True') return 'none';
  return c.reason === REASON.quarantined ? 'quarantined' : c.reason === REASON.probing ? 'probing' : 'none';
}

function attemptsOf(agent: AgentObject): Attempt[] {
  return (agent.status?.stats?.recent ?? []).map((r) => ({ ...r, completedAt: Date.parse(r.completedAt) }));
}

function previousOf(agent: AgentObject): Previous | undefined {
  const c = agent.status?.conditions?.find((x) => x.type === CONDITION);
  return c ? { status: c.status, reason: c.reason, message: c.message, since: Date.parse(c.lastTransitionTime) } : undefined;
}

interface Judged {
  readonly agent: AgentObject;
  readonly pool: string;
  readonly previous: Previous | undefined;
  decision: Decision;
  readonly score: number;
  readonly failureRate: number;
}

type Recent = NonNullable<NonNullable<AgentObject['status']>['stats']>['recent'];
/** Judged attempts by the `recent` list they come from (the host types an object once per resourceVersion). */
type Memo = WeakMap<NonNullable<Recent>, KindFigures[]>;

function kindsOf(agent: AgentObject, config: AnomalyConfig, memo: Memo): KindFigures[] {
  const recent = agent.status?.stats?.recent;
  if (recent === undefined) return [];
  let kinds = memo.get(recent);
  if (kinds === undefined) memo.set(recent, (kinds = judge(attemptsOf(agent), config)));
  return kinds;
}

function assess(agent: AgentObject, config: AnomalyConfig, now: number, memo: Memo): Judged {
  const kinds = kindsOf(agent, config, memo);
  const previous = previousOf(agent);
  const decision = decideQuarantine({
    now,
    kinds,
    previous,
    consecutive: config.consecutiveTasks,
    cooldownMs: config.cooldownSeconds * 1000,
  });
  const latest = kinds.map((k) => k.attempts.findLast((j) => j.score !== undefined)?.score ?? 0);
  return {
    agent,
    pool: agent.metadata.labels?.[POOL_LABEL] ?? '',
    previous,
    decision,
    score: Math.min(1000, Math.max(0, ...latest)),
    failureRate: Math.max(0, ...kinds.map((k) => k.failureRate)),
  };
}

const poolName = (pool: string): string => (pool === '' ? 'the agents outside any pool' : `pool ${pool}`);

/**
 * The fleet guard: at most maxQuarantinedPercent of a pool is quarantined at once. Agents
 * already quarantined keep their place; new ones are let in most anomalous first; the rest
 * are held (Degraded=True, not filtered). Returns what the policy's condition says.
 */
function guard(judged: readonly Judged[], config: AnomalyConfig): string[] {
  const pools = new Map<string, Judged[]>();
  for (const j of judged) {
    const members = pools.get(j.pool);
    if (members === undefined) pools.set(j.pool, [j]);
    else members.push(j);
  }
  const findings: string[] = [];
  for (const [pool, members] of pools) {
    const allowed = Math.floor((members.length * config.maxQuarantinedPercent) / 100);
    const wanted = members.filter((j) => j.decision.state === 'quarantined' || j.decision.state === 'probing');
    const kept = wanted.filter((j) => j.decision.finding === undefined);
    const fresh = wanted
      .filter((j) => j.decision.finding !== undefined)
      .sort((a, b) => b.decision.severity - a.decision.severity || a.agent.metadata.name.localeCompare(b.agent.metadata.name));
    const held = fresh.slice(Math.max(0, allowed - kept.length));
    if (held.length === 0) continue;
    const limit = `${wanted.length} of ${members.length} agents of ${poolName(pool)} are anomalous; at most ${allowed} may be quarantined at once (maxQuarantinedPercent ${config.maxQuarantinedPercent})`;
    for (const j of held) {
      const since = j.previous?.status === 'True' && j.previous.reason === REASON.held ? j.previous.since : j.decision.since;
      j.decision = {
        state: 'held',
        condition: { status: 'True', reason: REASON.held, message: `${j.decision.finding ?? 'anomalous'}; not quarantined: ${limit}` },
        since,
        severity: j.decision.severity,
      };
    }
    findings.push(`${limit}: not quarantined ${held.map((j) => j.agent.metadata.name).join(', ')}`);
  }
  return findings;
}

/** The intents for one agent: its condition (none while it never was anomalous), an Event on a change, a look at the cooldown's end, gauges. */
function agentIntents(j: Judged): Intent[] {
  const { agent, previous, decision } = j;
  const target = { kind: 'Agent', name: agent.metadata.name } as const;
  const intents: Intent[] = [];
  const untouched = previous === undefined && decision.state === 'normal';
  if (!untouched) intents.push({ kind: 'condition', target, condition: { type: CONDITION, ...decision.condition }, since: decision.since });
  if (!untouched && previous?.reason !== decision.condition.reason) {
    const warning = decision.state === 'quarantined' || decision.state === 'held';
    intents.push({
      kind: 'event',
      target,
      type: warning ? 'Warning' : 'Normal',
      reason: decision.condition.reason,
      message: decision.condition.message,
    });
  }
  if (decision.requeueAfterMs !== undefined) intents.push({ kind: 'requeue', afterMs: decision.requeueAfterMs });
  const labels = { agent: agent.metadata.name };
  const quarantined = decision.state === 'quarantined' || decision.state === 'probing' ? 1 : 0;
  intents.push(
    {
      kind: 'metric',
      name: 'anomaly_quarantined',
      help: 'Whether the anomaly plugin keeps the agent out of routing (1), probing included',
      labels,
      value: quarantined,
    },
    {
      kind: 'metric',
      name: 'anomaly_score',
      help: 'Deviations of the agent’s latest task duration above its own mean (the highest over kinds of task)',
      labels,
      value: j.score,
    },
    {
      kind: 'metric',
      name: 'anomaly_failure_rate',
      help: 'Moving-average failure rate of the agent (the highest over kinds of task)',
      labels,
      value: j.failureRate,
    },
  );
  return intents;
}

function policyIntents(snapshot: NamespaceSnapshot, findings: readonly string[]): Intent[] {
  const policy = snapshot.policy;
  if (policy === undefined) return [];
  const previous = policy.status?.conditions?.find((c) => c.type === GUARD_CONDITION);
  if (findings.length === 0 && previous === undefined) return [];
  const target = { kind: 'OrchestratorPolicy', name: policy.metadata.name } as const;
  const condition =
    findings.length > 0
      ? ({
          type: GUARD_CONDITION,
          status: 'True',
          reason: 'TooManyAnomalous',
          message: `${findings.join('; ')}. Many agents turning anomalous together points at a bad release or a change in the work rather than at the agents`,
        } as const)
      : ({
          type: GUARD_CONDITION,
          status: 'False',
          reason: 'WithinLimit',
          message: 'no pool has more anomalous agents than it may quarantine',
        } as const);
  const intents: Intent[] = [{ kind: 'condition', target, condition }];
  if (previous?.reason !== condition.reason) {
    intents.push({
      kind: 'event',
      target,
      type: findings.length > 0 ? 'Warning' : 'Normal',
      reason: condition.reason,
      message: condition.message,
    });
  }
  return intents;
}

/**
 * Per-agent anomaly quarantine. Lifecycle: on every tick each agent's last attempts are
 * judged against its own moving baseline (detect.ts), the quarantine decided
 * (quarantine.ts) and kept in its Degraded condition, within the fleet guard. Filter: no
 * task for a quarantined agent; one probe task after the cooldown.
 */
export const anomaly = definePlugin({
  name: 'anomaly',
  config: anomalyConfig,
  admission: anomalyAdmission,
  routing: () => ({
    filter(_task, agent, state) {
      const q = quarantineOf(agent.conditions);
      if (q === 'quarantined') return unresolvable(FILTER_REASONS.quarantined);
      if (q === 'probing' && state.load(agent) > 0) return unschedulable(FILTER_REASONS.probing);
      return success;
    },
  }),
  lifecycle: (config) => {
    const memo: Memo = new WeakMap();
    return {
      onTick(snapshot) {
        const judged = snapshot.agents
          .filter((a) => a.metadata.deletionTimestamp === undefined)
          .map((a) => assess(a, config, snapshot.now, memo));
        const findings = guard(judged, config);
        return [...judged.flatMap(agentIntents), ...policyIntents(snapshot, findings)];
      },
    };
  },
});
