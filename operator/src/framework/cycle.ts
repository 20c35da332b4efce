import { createCycleLedger, type CycleLedger } from './cycle-state.ts';
import { pendingStatus } from './pending-status.ts';
import { createTaskQueue } from './task-queue.ts';
import type { AgentInfo, Assignment, CycleResult, FilterResult, PendingStatus, RoutingPlugin, Snapshot, TaskInfo } from './types.ts';

/** Which plugins run at each extension point, like a kube-scheduler profile. */
export interface Profile {
  /** Its queueSort orders the queue; ties fall back to the task key. */
  queueSort: RoutingPlugin;
  /** Run in this order; the first to reject an agent names the reason. */
  filters: RoutingPlugin[];
  scorers: { plugin: RoutingPlugin; weight: number }[];
  reservers?: RoutingPlugin[];
  /** Namespaces take turns, the least served in this cycle first. */
  fairShare: boolean;
}

const OK: FilterResult = { ok: true };

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * One scheduling cycle over a snapshot: every task is either assigned or pending with
 * the reasons why. Pure: the same snapshot, seed and profile give the same result, and
 * the order of tasks and agents in the snapshot does not matter.
 */
export function runCycle(snapshot: Snapshot, profile: Profile): CycleResult {
  const state = createCycleLedger(snapshot.now, snapshot.seed);
  const agents = agentsByNamespace(snapshot.agents);
  const queue = createTaskQueue(
    uniqueByKey(snapshot.tasks),
    (a, b) => (profile.queueSort.queueSort?.(a, b, snapshot.now) ?? 0) || compareKeys(a.key, b.key),
    profile.fairShare,
    state,
  );
  const assignments: Assignment[] = [];
  const pending: PendingStatus[] = [];
  for (let task = queue.next(); task !== undefined; task = queue.next()) {
    const candidates = agents.get(task.namespace) ?? [];
    const feasible: AgentInfo[] = [];
    // A Map, not an object: a reason is free text and must not meet Object.prototype.
    const reasons = new Map<string, number>();
    for (const agent of candidates) {
      const result = runFilters(profile.filters, task, agent, state);
      if (result.ok) feasible.push(agent);
      else reasons.set(result.reason, (reasons.get(result.reason) ?? 0) + 1);
    }
    const chosen = pick(task, feasible, profile.scorers, state);
    if (chosen === undefined) {
      pending.push(pendingStatus(task, candidates.length, Object.fromEntries(reasons), wakeable(task, candidates, profile.filters, state)));
      continue;
    }
    if (state.reserve(task, chosen)) {
      for (const plugin of profile.reservers ?? []) plugin.reserve?.(task, chosen, state);
    }
    assignments.push({ task, agent: chosen });
  }
  return { assignments, pending };
}

function runFilters(filters: readonly RoutingPlugin[], task: TaskInfo, agent: AgentInfo, state: CycleLedger): FilterResult {
  for (const plugin of filters) {
    const result = plugin.filter?.(task, agent, state) ?? OK;
    if (!result.ok) return result;
  }
  return OK;
}

/**
 * Sleeping agents that would pass every filter once awake. Judging a woken copy, rather
 * than skipping one named filter, keeps the cycle free of plugin names and leaves out
 * agents that waking would not help (leaving, circuit open).
 */
function wakeable(task: TaskInfo, agents: readonly AgentInfo[], filters: readonly RoutingPlugin[], state: CycleLedger): string[] {
  return agents
    .filter((a) => a.sleeping && runFilters(filters, task, { ...a, sleeping: false, ready: true }, state).ok)
    .map((a) => a.key);
}

function pick(
  task: TaskInfo,
  feasible: readonly AgentInfo[],
  scorers: Profile['scorers'],
  state: CycleLedger,
): AgentInfo | undefined {
  const totals = new Map(feasible.map((a) => [a.key, 0]));
  for (const { plugin, weight } of scorers) {
    if (plugin.score === undefined || weight === 0) continue;
    const scores = new Map(feasible.map((a) => [a.key, plugin.score?.(task, a, state) ?? 0]));
    plugin.normalize?.(task, scores);
    for (const [key, total] of totals) totals.set(key, total + weight * clampScore(scores.get(key) ?? 0));
  }
  let best: { agent: AgentInfo; total: number; load: number } | undefined;
  for (const agent of feasible) {
    const total = totals.get(agent.key) ?? 0;
    const load = state.load(agent);
    // Feasible agents come sorted by key, so a strict comparison keeps the lower key on a tie.
    if (best === undefined || total > best.total || (total === best.total && load < best.load)) {
      best = { agent, total, load };
    }
  }
  return best?.agent;
}

/** One plugin's bad number must not outweigh the others: keep it within 0-100. */
function clampScore(score: number): number {
  return Number.isNaN(score) ? 0 : Math.min(100, Math.max(0, score));
}

function uniqueByKey<T extends { readonly key: string }>(items: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(item.key)) seen.set(item.key, item);
  return [...seen.values()];
}

function agentsByNamespace(agents: readonly AgentInfo[]): Map<string, AgentInfo[]> {
  const byNamespace = new Map<string, AgentInfo[]>();
  for (const agent of uniqueByKey(agents).sort((a, b) => compareKeys(a.key, b.key))) {
    const list = byNamespace.get(agent.namespace);
    if (list) list.push(agent);
    else byNamespace.set(agent.namespace, [agent]);
  }
  return byNamespace;
}
