// The automation plugin's routing part. Fallback tiers: an agent of a later tier takes a
// task only once the task has waited that tier's afterSeconds, so the primary agents get
// the first chance. Schedule caps: while a window holds a pool to at most N awake agents
// and N are awake, the pool's sleeping agents are no candidates, so the router does not
// wake one that the autoscaler would put back to sleep (the autoscaler wakes them itself
// when the cap allows).
import {
  rfc3339,
  skip,
  stateKey,
  success,
  unschedulable,
  type AgentIndex,
  type AgentInfo,
  type CycleState,
  type PreFilterResult,
  type RoutingPlugin,
  type Status,
  type TaskInfo,
} from '../../operator/src/framework/index.ts';
import type { TierConfig } from './config.ts';
import { describeBounds, localTime, windowState, type Window } from './schedule.ts';

export interface Tier {
  readonly name: string;
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly afterMs: number;
}

export function compileTier(t: TierConfig): Tier {
  return { name: t.name, matchLabels: t.selector.matchLabels, afterMs: t.afterSeconds * 1000 };
}

/** The first tier whose selector the agent matches; undefined: a primary agent. */
export function tierOf(tiers: readonly Tier[], labels: Readonly<Record<string, string>> | undefined): Tier | undefined {
  return tiers.find((t) => Object.entries(t.matchLabels).every(([k, v]) => labels?.[k] === v));
}

/** Whether an agent's tier lets it take the task at `now`: Success, or when it opens. */
export function tierStatus(tiers: readonly Tier[], task: TaskInfo, agent: AgentInfo, now: number): Status {
  const tier = tierOf(tiers, agent.labels);
  // A task pinned to this very agent asked for it: no tier stands in the way.
  if (tier === undefined || task.affinity?.agent === agent.name) return success;
  const opens = task.queuedAt + tier.afterMs;
  return now >= opens ? success : unschedulable(`tier ${tier.name}: opens to this task at ${rfc3339(opens)}`);
}

/** Sleeping agents that a schedule keeps asleep, with the reason, by agent key. */
export type Capped = ReadonlyMap<string, string>;

/**
 * The sleeping agents of every pool that an open window caps and that has as many awake
 * agents as the cap allows (or more, on their way to sleep).
 */
export function cappedAgents(windows: readonly Window[], agents: readonly AgentInfo[], now: number): Capped {
  const caps = new Map<string, { max: number; reason: string }>();
  for (const w of windows) {
    if (w.maxAwake === undefined) continue;
    const state = windowState(w, now);
    if (!state.open) continue;
    const current = caps.get(w.pool);
    if (current !== undefined && current.max <= w.maxAwake) continue;
    const until = state.next === undefined ? 'until further notice' : `until ${localTime(state.next, now, w.timeZone)}`;
    caps.set(w.pool, {
      max: w.maxAwake,
      reason: `schedule ${w.name}: pool ${w.pool} keeps ${describeBounds({ maxAwake: w.maxAwake })} ${until}`,
    });
  }
  const capped = new Map<string, string>();
  if (caps.size === 0) return capped;
  const awake = new Map<string, number>();
  for (const a of agents) if (a.pool !== undefined && !a.sleeping && !a.leaving) awake.set(a.pool, (awake.get(a.pool) ?? 0) + 1);
  for (const a of agents) {
    const cap = a.pool === undefined ? undefined : caps.get(a.pool);
    if (cap !== undefined && a.sleeping && (awake.get(a.pool ?? '') ?? 0) >= cap.max) capped.set(a.key, cap.reason);
  }
  return capped;
}

const CAPPED = stateKey<Capped>('automation/capped');

/**
 * The routing part: PreFilter works out, once per cycle, which sleeping agents a schedule
 * keeps asleep (kept in the cycle state for Filter, also when PostFilter asks whether
 * waking one would help); Filter applies the caps and the tiers.
 */
export function automationRouting(windows: readonly Window[], tiers: readonly Tier[]): RoutingPlugin {
  // One cycle's agents share one array: the caps are worked out once per cycle, not per task.
  let memo: { agents: readonly AgentInfo[]; now: number; capped: Capped } | undefined;
  const capsFor = (agents: AgentIndex, now: number): Capped => {
    if (memo?.agents !== agents.all || memo.now !== now) memo = { agents: agents.all, now, capped: cappedAgents(windows, agents.all, now) };
    return memo.capped;
  };
  const capping = windows.some((w) => w.maxAwake !== undefined);
  return {
    preFilter(_task: TaskInfo, agents: AgentIndex, state: CycleState): PreFilterResult {
      const capped = capping ? capsFor(agents, state.now) : new Map<string, string>();
      state.write(CAPPED, capped);
      return capped.size === 0 && tiers.length === 0 ? { status: skip } : {};
    },
    filter(task: TaskInfo, agent: AgentInfo, state: CycleState): Status {
      const cap = state.read(CAPPED)?.get(agent.key);
      if (cap !== undefined) return unschedulable(cap);
      return tiers.length === 0 ? success : tierStatus(tiers, task, agent, state.now);
    },
  };
}
