import { createCycleLedger, type CycleLedger } from './cycle-state.ts';
import { FAILED, Guard, type GuardOptions } from './guard.ts';
import { pendingStatus, taskWideStatus } from './pending-status.ts';
import { passes, success, unresolvable, type Status } from './status.ts';
import type { AgentIndex, AgentInfo, Assignment, CycleResult, PendingStatus, RoutingPlugin, Snapshot, TaskInfo } from './types.ts';

export interface NamedPlugin {
  readonly name: string;
  readonly plugin: RoutingPlugin;
}

/** Which plugins run at each extension point, like a kube-scheduler profile. */
export interface Profile {
  /** Orders the queue; ties (and no queue sort) fall back to the task key. */
  readonly queueSort?: NamedPlugin | undefined;
  readonly preFilters: readonly NamedPlugin[];
  /** Run in this order; the first to reject an agent names the reason. */
  readonly filters: readonly NamedPlugin[];
  readonly postFilters: readonly NamedPlugin[];
  readonly scorers: readonly (NamedPlugin & { readonly weight: number })[];
  readonly reservers: readonly NamedPlugin[];
  readonly permits: readonly NamedPlugin[];
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** How a cycle runs: the plugins' guard, and how far it looks in a large namespace. */
export interface CycleOptions extends GuardOptions {
  /**
   * A task is placed among the first so many feasible agents found (like kube-scheduler's
   * percentageOfNodesToScore), looking from a rotating start so every agent gets its
   * turn: the cost per task stays flat as the fleet grows. 0 looks at every agent.
   * Default 100. A task no agent can run is always judged against all of them.
   */
  readonly feasibleAgentsToFind?: number;
}

export const DEFAULT_FEASIBLE_AGENTS_TO_FIND = 100;

/** The tasks to route now, and each namespace's agents, indexed. */
export interface Queue {
  readonly now: number;
  readonly seed: number;
  readonly tasks: readonly TaskInfo[];
  index(namespace: string): AgentIndex;
}

/**
 * One scheduling cycle over a snapshot: every task is either assigned or pending with
 * the reasons why. Pure: the same snapshot, seed and profile give the same result, and
 * the order of tasks and agents in the snapshot does not matter. A plugin that throws or
 * runs past its budget fails only the task it was judging (see guard.ts).
 */
export function runCycle(snapshot: Snapshot, profile: Profile, options: CycleOptions = {}): CycleResult {
  const indexes = indexByNamespace(snapshot.agents);
  return routeQueue(
    { now: snapshot.now, seed: snapshot.seed, tasks: snapshot.tasks, index: (ns) => indexes.get(ns) ?? EMPTY_INDEX },
    profile,
    options,
  );
}

/** runCycle on indexes kept by the caller (the router's AgentCache): nothing is rebuilt. */
export function routeQueue(queue: Queue, profile: Profile, options: CycleOptions = {}): CycleResult {
  const state = createCycleLedger(queue.now, queue.seed);
  const guard = new Guard(options);
  const limit = options.feasibleAgentsToFind ?? DEFAULT_FEASIBLE_AGENTS_TO_FIND;
  const starts = new Map<string, number>();
  const assignments: Assignment[] = [];
  const pending: PendingStatus[] = [];
  for (const task of sortQueue(uniqueByKey(queue.tasks), profile.queueSort, queue.now, guard)) {
    state.beginTask();
    const sampler: Sampler = {
      limit,
      start: starts.get(task.namespace) ?? queue.seed,
      advance: (n) => starts.set(task.namespace, (starts.get(task.namespace) ?? queue.seed) + n),
    };
    const outcome = routeTask(task, queue.index(task.namespace), profile, state, guard, sampler);
    if ('agent' in outcome) assignments.push(outcome);
    else pending.push(outcome);
  }
  return { assignments, pending, failures: guard.failures };
}

interface Sampler {
  readonly limit: number;
  readonly start: number;
  advance(examined: number): void;
}

function routeTask(
  task: TaskInfo,
  index: AgentIndex,
  profile: Profile,
  state: CycleLedger,
  guard: Guard,
  sampler: Sampler,
): Assignment | PendingStatus {
  const all = index.all;
  const whole = (status: Status): PendingStatus => taskWideStatus(task, status, all.length);

  // PreFilter: narrow the candidates, or rule the task out.
  const skipped = new Set<string>();
  const narrowedBy: NamedPlugin[] = [];
  let allowed: readonly AgentInfo[] | undefined;
  let preferred: Set<string> | undefined;
  for (const { name, plugin } of profile.preFilters) {
    const r = guard.run(name, 'PreFilter', task, () => plugin.preFilter?.(task, index, state));
    if (r === FAILED) return whole(guard.failed);
    if (r?.status?.code === 'Skip') skipped.add(name);
    else if (!passes(r?.status) && r?.status) return whole({ ...r.status, plugin: name });
    if (r?.agents) {
      narrowedBy.push({ name, plugin });
      const narrowed = r.agents;
      if (allowed === undefined) allowed = narrowed;
      else {
        const keys = new Set(narrowed.map((a) => a.key));
        allowed = allowed.filter((a) => keys.has(a.key));
      }
    }
    if (r?.prefer) for (const key of r.prefer) (preferred ??= new Set()).add(key);
  }

  // Filter, one plugin at a time over the agents still in: the same first-rejection
  // answer as agent by agent, with one timed call per plugin and window of agents.
  const statuses = new Map<string, Status>();
  const candidates = allowed ?? all;
  const feasible: AgentInfo[] = [];
  for (const window of windows(candidates, task.namespace, preferred, sampler)) {
    let remaining: readonly AgentInfo[] = window;
    for (const { name, plugin } of profile.filters) {
      if (skipped.has(name) || remaining.length === 0) continue;
      const r = guard.run(name, 'Filter', task, () => filterPass(name, plugin, task, remaining, state, statuses));
      if (r === FAILED) return whole(guard.failed);
      remaining = r;
    }
    feasible.push(...remaining);
    if (sampler.limit > 0 && feasible.length >= sampler.limit) break;
  }

  if (feasible.length === 0) {
    if (allowed !== undefined) judgeExcluded(task, all, new Set(allowed.map((a) => a.key)), narrowedBy, state, statuses);
    const wake = new Set<string>();
    const handle = { agents: all, runFilters: (t: TaskInfo, a: AgentInfo) => runFilters(profile, t, a, state) };
    for (const { name, plugin } of profile.postFilters) {
      const r = guard.run(name, 'PostFilter', task, () => plugin.postFilter?.(task, statuses, handle, state));
      if (r !== FAILED) for (const key of r?.wake ?? []) wake.add(key);
    }
    return pendingStatus(task, statuses.values(), all.length, [...wake].sort());
  }

  const chosen = pick(task, feasible, profile.scorers, state, guard, skipped);
  if (chosen === FAILED) return whole(guard.failed);
  if (state.reserve(task, chosen)) {
    for (const { name, plugin } of profile.reservers) {
      if (guard.run(name, 'Reserve', task, () => plugin.reserve?.(task, chosen, state)) === FAILED) {
        unreserve(profile, task, chosen, state, guard);
        return whole(guard.failed);
      }
    }
  }
  for (const { name, plugin } of profile.permits) {
    const r = guard.run(name, 'Permit', task, () => plugin.permit?.(task, chosen, state) ?? success);
    if (r === FAILED || !passes(r)) {
      unreserve(profile, task, chosen, state, guard);
      return whole(r === FAILED ? guard.failed : { ...r, plugin: name });
    }
  }
  return { task, agent: chosen };
}

/**
 * The candidates in the order they are looked at: all of them in a small namespace;
 * in a large one the preferred first, then from the rotating start, in windows the
 * size of the number of feasible agents still wanted.
 */
function* windows(
  candidates: readonly AgentInfo[],
  namespace: string,
  preferred: ReadonlySet<string> | undefined,
  sampler: Sampler,
): Generator<readonly AgentInfo[]> {
  // A PreFilter's list is trusted to come from the index, but never across namespaces.
  const here = (a: AgentInfo): boolean => a.namespace === namespace;
  const n = candidates.length;
  if (sampler.limit <= 0 || n <= sampler.limit) {
    yield candidates.every(here) ? candidates : candidates.filter(here);
    return;
  }
  const first = preferred ? candidates.filter((a) => preferred.has(a.key) && here(a)) : [];
  const offset = ((sampler.start % n) + n) % n;
  let i = 0;
  let window: AgentInfo[] = first;
  try {
    while (i < n) {
      const agent = candidates[(offset + i) % n] as AgentInfo;
      i++;
      if (preferred?.has(agent.key) || !here(agent)) continue;
      window.push(agent);
      if (window.length >= sampler.limit) {
        yield window;
        window = [];
      }
    }
    if (window.length) yield window;
  } finally {
    // The next task starts where this one stopped looking (also when it stopped early).
    sampler.advance(i);
  }
}

function filterPass(
  name: string,
  plugin: RoutingPlugin,
  task: TaskInfo,
  agents: readonly AgentInfo[],
  state: CycleLedger,
  statuses: Map<string, Status>,
): readonly AgentInfo[] {
  // Most passes reject no one: the input is returned as it is, and copied only from the
  // first rejection on.
  let passed: AgentInfo[] | undefined;
  for (let i = 0; i < agents.length; i++) {
    const agent = agents[i] as AgentInfo;
    const s = plugin.filter?.(task, agent, state);
    if (passes(s)) passed?.push(agent);
    else {
      passed ??= agents.slice(0, i);
      if (s) statuses.set(agent.key, { ...s, plugin: name });
    }
  }
  return passed ?? agents;
}

/** Agents a PreFilter left out get the reason from that plugin's own Filter, for the message. */
function judgeExcluded(
  task: TaskInfo,
  all: readonly AgentInfo[],
  allowed: ReadonlySet<string>,
  narrowedBy: readonly NamedPlugin[],
  state: CycleLedger,
  statuses: Map<string, Status>,
): void {
  for (const agent of all) {
    if (allowed.has(agent.key)) continue;
    let status: Status = unresolvable('left out by PreFilter');
    for (const { name, plugin } of narrowedBy) {
      let s: Status | undefined;
      try {
        s = plugin.filter?.(task, agent, state);
      } catch {
        s = undefined;
      }
      if (!passes(s) && s) {
        status = { ...s, plugin: name };
        break;
      }
      status = { ...status, plugin: name };
    }
    statuses.set(agent.key, status);
  }
}

/** Every Filter on one agent, for PostFilter's "what if" questions. */
function runFilters(profile: Profile, task: TaskInfo, agent: AgentInfo, state: CycleLedger): Status {
  for (const { name, plugin } of profile.filters) {
    const s = plugin.filter?.(task, agent, state);
    if (!passes(s) && s) return { ...s, plugin: name };
  }
  return success;
}

function unreserve(profile: Profile, task: TaskInfo, agent: AgentInfo, state: CycleLedger, guard: Guard): void {
  if (!state.unreserve(task, agent)) return;
  for (const { name, plugin } of profile.reservers) guard.run(name, 'Reserve', task, () => plugin.unreserve?.(task, agent, state));
}

function pick(
  task: TaskInfo,
  feasible: readonly AgentInfo[],
  scorers: Profile['scorers'],
  state: CycleLedger,
  guard: Guard,
  skipped: ReadonlySet<string>,
): AgentInfo | typeof FAILED {
  const totals = new Map(feasible.map((a) => [a.key, 0]));
  for (const { name, plugin, weight } of scorers) {
    // Skipped at PreFilter: nothing to tell the agents apart by (kube-scheduler's PreScore Skip).
    if (plugin.score === undefined || weight === 0 || skipped.has(name)) continue;
    const scores = guard.run(name, 'Score', task, () => {
      const raw = new Map(feasible.map((a) => [a.key, plugin.score?.(task, a, state) ?? 0]));
      plugin.normalize?.(task, raw, state);
      return raw;
    });
    if (scores === FAILED) return FAILED;
    for (const [key, total] of totals) totals.set(key, total + weight * clampScore(scores.get(key) ?? 0));
  }
  let best: { agent: AgentInfo; total: number; load: number } | undefined;
  for (const agent of feasible) {
    const total = totals.get(agent.key) ?? 0;
    const load = state.load(agent);
    // A sample starts anywhere: on a full tie the lower key wins, whatever the order.
    if (
      best === undefined ||
      total > best.total ||
      (total === best.total && (load < best.load || (load === best.load && agent.key < best.agent.key)))
    ) {
      best = { agent, total, load };
    }
  }
  return best?.agent ?? FAILED;
}

/** One plugin's bad number must not outweigh the others: keep it within 0-100. */
function clampScore(score: number): number {
  return Number.isNaN(score) ? 0 : Math.min(100, Math.max(0, score));
}

/** The queue in the queue-sort plugin's order; if it fails, by key, and the cycle goes on. */
function sortQueue(tasks: TaskInfo[], queueSort: NamedPlugin | undefined, now: number, guard: Guard): TaskInfo[] {
  const byKey = (a: TaskInfo, b: TaskInfo): number => compareKeys(a.key, b.key);
  const plugin = queueSort?.plugin;
  if (queueSort === undefined || plugin?.queueSort === undefined) return tasks.sort(byKey);
  const sorted = guard.run(queueSort.name, 'QueueSort', undefined, () =>
    [...tasks].sort((a, b) => plugin.queueSort?.(a, b, now) || byKey(a, b)),
  );
  return sorted === FAILED ? tasks.sort(byKey) : sorted;
}

function uniqueByKey<T extends { readonly key: string }>(items: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(item.key)) seen.set(item.key, item);
  return [...seen.values()];
}

const EMPTY_INDEX: AgentIndex = { all: [], get: () => undefined, withCapability: () => [], withContextKey: () => [] };

function indexByNamespace(agents: readonly AgentInfo[]): Map<string, AgentIndex> {
  const byNamespace = new Map<string, { all: AgentInfo[]; byCapability: Map<string, AgentInfo[]> }>();
  for (const agent of uniqueByKey(agents).sort((a, b) => compareKeys(a.key, b.key))) {
    let entry = byNamespace.get(agent.namespace);
    if (entry === undefined) byNamespace.set(agent.namespace, (entry = { all: [], byCapability: new Map() }));
    entry.all.push(agent);
    for (const c of agent.capabilities) {
      const list = entry.byCapability.get(c);
      if (list) list.push(agent);
      else entry.byCapability.set(c, [agent]);
    }
  }
  const indexes = new Map<string, AgentIndex>();
  for (const [ns, { all, byCapability }] of byNamespace) {
    const byKey = new Map(all.map((a) => [a.key, a]));
    indexes.set(ns, {
      all,
      get: (key) => byKey.get(key),
      withCapability: (c) => byCapability.get(c) ?? [],
      withContextKey: (k) => all.filter((a) => a.contextKeys.has(k)),
    });
  }
  return indexes;
}
