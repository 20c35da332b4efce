// The bottleneck report as a pure function of one namespace: which capability's queue is
// the constraint, which pools are at their maximum, which agents are slowest against the
// fleet, and what would help, in words. Everything comes from the API objects (pending
// tasks and their queuedAt, the agents' load and recent attempts, the policy's pools).
import { POOL_LABEL } from '../../operator/src/api/names.ts';
import type { AgentObject, NamespaceSnapshot } from '../../operator/src/framework/index.ts';

export interface BottleneckSettings {
  /** Tasks must wait at least this long on average for their capability to be a constraint. */
  readonly minWaitSeconds: number;
  /** An agent this many times slower than the fleet's median for a kind of task is listed. */
  readonly slowRatio: number;
}

export interface Queue {
  readonly capability: string;
  readonly waiting: number;
  readonly meanWaitS: number;
  readonly oldestWaitS: number;
  /** Agents that offer the capability, those Ready or Busy, and the share of their slots in use. */
  readonly agents: number;
  readonly ready: number;
  readonly busyPercent: number;
}

export interface Pool {
  readonly name: string;
  readonly agents: number;
  readonly maxAgents: number;
  readonly capabilities: readonly string[];
  readonly targetPendingPerAgent: number;
}

export interface Slow {
  readonly agent: string;
  readonly kind: string;
  readonly ratio: number;
}

export interface Report {
  readonly queues: readonly Queue[];
  readonly constraint?: Queue | undefined;
  readonly poolsAtMax: readonly Pool[];
  readonly slowest: readonly Slow[];
  readonly recommendation?: string | undefined;
}

const READY = new Set(['Ready', 'Busy']);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function queues(snapshot: NamespaceSnapshot): Queue[] {
  const waits = new Map<string, number[]>();
  for (const t of snapshot.tasks) {
    if (t.status?.phase !== 'Pending') continue;
    const since = Date.parse(t.status.queuedAt ?? t.metadata.creationTimestamp ?? '');
    if (Number.isNaN(since)) continue;
    const wait = Math.max(0, (snapshot.now - since) / 1000);
    const caps = t.spec.requiredCapabilities.length > 0 ? t.spec.requiredCapabilities : [''];
    for (const c of caps) {
      const list = waits.get(c);
      if (list === undefined) waits.set(c, [wait]);
      else list.push(wait);
    }
  }
  return [...waits].map(([capability, w]) => {
    const offering = snapshot.agents.filter((a) => capability === '' || a.spec.capabilities.includes(capability));
    const ready = offering.filter((a) => READY.has(a.status?.phase ?? ''));
    const slots = ready.reduce((n, a) => n + a.spec.maxConcurrentTasks, 0);
    const busy = ready.reduce((n, a) => n + Math.min(a.spec.maxConcurrentTasks, a.status?.activeTasks ?? 0), 0);
    return {
      capability,
      waiting: w.length,
      meanWaitS: w.reduce((s, x) => s + x, 0) / w.length,
      oldestWaitS: w.reduce((m, x) => Math.max(m, x), 0),
      agents: offering.length,
      ready: ready.length,
      busyPercent: slots === 0 ? 0 : Math.round((100 * busy) / slots),
    };
  });
}

function pools(snapshot: NamespaceSnapshot): Pool[] {
  const specs = snapshot.policy?.spec.autoscaling?.pools ?? [];
  return specs.map((p) => ({
    name: p.name,
    agents: snapshot.agents.filter((a) => a.metadata.labels?.[POOL_LABEL] === p.name && a.metadata.deletionTimestamp === undefined).length,
    maxAgents: p.maxAgents,
    capabilities: p.template.capabilities,
    targetPendingPerAgent: p.targetPendingPerAgent,
  }));
}

function slowest(agents: readonly AgentObject[], ratio: number): Slow[] {
  const byKind = new Map<string, Map<string, number[]>>();
  for (const a of agents) {
    for (const r of a.status?.stats?.recent ?? []) {
      if (r.outcome !== 'Succeeded') continue;
      let perAgent = byKind.get(r.capabilities);
      if (perAgent === undefined) byKind.set(r.capabilities, (perAgent = new Map<string, number[]>()));
      const durations = perAgent.get(a.metadata.name);
      if (durations === undefined) perAgent.set(a.metadata.name, [r.durationMs]);
      else durations.push(r.durationMs);
    }
  }
  const slow: Slow[] = [];
  for (const [kind, perAgent] of byKind) {
    const medians = [...perAgent].filter(([, d]) => d.length >= 3).map(([agent, d]) => ({ agent, median: median(d) }));
    if (medians.length < 2) continue;
    const fleet = median(medians.map((m) => m.median));
    for (const m of medians) if (fleet > 0 && m.median / fleet >= ratio) slow.push({ agent: m.agent, kind, ratio: m.median / fleet });
  }
  return slow.sort((a, b) => b.ratio - a.ratio || a.agent.localeCompare(b.agent)).slice(0, 3);
}

const kindName = (c: string): string => (c === '' ? 'tasks without capabilities' : `${c} tasks`);
/** Whole seconds below 10 s, then to 5 s, then minutes and seconds from 2 minutes. */
export const seconds = (s: number): string => {
  if (s < 10) return `${Math.round(s)}s`;
  const r = Math.round(s / 5) * 5;
  return r >= 120 ? `${Math.floor(r / 60)}m${r % 60 === 0 ? '' : `${r % 60}s`}` : `${r}s`;
};

function recommend(q: Queue, all: readonly Pool[]): string {
  const why = `${q.waiting} ${kindName(q.capability)} wait on average ${seconds(q.meanWaitS)}`;
  const covering = all.filter((p) => q.capability === '' || p.capabilities.includes(q.capability));
  const full = covering.find((p) => p.agents >= p.maxAgents);
  if (full) return `raise ${full.name} maxAgents to ${full.maxAgents + Math.ceil(q.waiting / full.targetPendingPerAgent)}: ${why}`;
  if (covering.length > 0)
    return `pool ${covering.map((p) => p.name).join(', ')} can still grow yet ${why}: check its scaleUp settings and why its new agents do not become Ready`;
  if (q.agents === 0) return `no agent offers ${q.capability}: add agents with it, or a pool whose template has it (${why})`;
  if (q.ready < q.agents)
    return `${q.agents - q.ready} of ${q.agents} agents offering ${q.capability || 'any capability'} are not Ready (asleep, starting or failing): ${why}`;
  return `every agent offering ${q.capability || 'any capability'} is busy (${q.busyPercent}% of slots): add agents with it, or a pool for it (${why})`;
}

export function bottleneckOf(snapshot: NamespaceSnapshot, s: BottleneckSettings): Report {
  const all = queues(snapshot);
  const poolList = pools(snapshot);
  // The constraint: the queue holding the most task-seconds of waiting, among those waiting long enough.
  const constraint = all
    .filter((q) => q.meanWaitS >= s.minWaitSeconds)
    .sort((a, b) => b.waiting * b.meanWaitS - a.waiting * a.meanWaitS || a.capability.localeCompare(b.capability))[0];
  return {
    queues: all,
    constraint,
    poolsAtMax: poolList.filter((p) => p.agents >= p.maxAgents),
    slowest: slowest(snapshot.agents, s.slowRatio),
    recommendation: constraint ? recommend(constraint, poolList) : undefined,
  };
}

/** The report in words, stable while the figures stay in their rounding. */
export function describeReport(r: Report, s: BottleneckSettings): { status: 'True' | 'False'; reason: string; message: string } {
  const extra = [
    r.poolsAtMax.length > 0 ? `pools at their maximum: ${r.poolsAtMax.map((p) => `${p.name} (${p.maxAgents})`).join(', ')}` : '',
    r.slowest.length > 0
      ? `slowest agents: ${r.slowest.map((x) => `${x.agent} (${x.ratio.toFixed(1)}x the fleet's median on ${kindName(x.kind)})`).join(', ')}`
      : '',
  ].filter((x) => x !== '');
  const tail = extra.length > 0 ? `; ${extra.join('; ')}` : '';
  const q = r.constraint;
  if (q === undefined) {
    return { status: 'False', reason: 'NoBottleneck', message: `no queue waits ${seconds(s.minWaitSeconds)} or more on average${tail}` };
  }
  return {
    status: 'True',
    reason: 'QueueConstrained',
    message: `${kindName(q.capability)} are the constraint: ${q.waiting} wait, on average ${seconds(q.meanWaitS)} (oldest ${seconds(q.oldestWaitS)}); ${q.ready} of ${q.agents} agents offering it Ready, ${q.busyPercent}% of their slots busy. Recommendation: ${r.recommendation ?? ''}${tail}`,
  };
}
