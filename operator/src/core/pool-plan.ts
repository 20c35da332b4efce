// What to do to a pool's Agents to reach the autoscaler's desired size and the current
// template, as a pure function: the policy controller gathers the members, calls
// planPool, and carries the plan out. No I/O and no clock here: `now` is an input.

export interface PoolMember {
  name: string;
  /** spec.desiredState is Sleeping. */
  asleep: boolean;
  /** Phase Ready or Busy: it takes tasks now. */
  ready: boolean;
  /**
   * Still acting on a change: starting, draining, or its spec not yet observed by the
   * agent controller. A roll waits for these so it moves one step at a time.
   */
  settling: boolean;
  /** Tasks assigned to it or running on it. */
  active: number;
  /** Since when it has had nothing to do; undefined while busy or not yet ready. */
  idleSince?: number | undefined;
  /** Made from the pool's current template. */
  upToDate: boolean;
}

export interface PoolPlanInput {
  /** Awake agents the autoscaler wants. */
  desired: number;
  maxAgents: number;
  /** Agents changed at once by a roll (scaleUp.maxStep). */
  maxStep: number;
  /** Put surplus agents to sleep after this long idle instead of deleting them. */
  sleepAfterIdleMs?: number | undefined;
  /**
   * A bound on awake agents that holds now (a schedule's window): awake agents beyond it
   * are put to sleep at once, whatever their idle time, rather than removed, so that they
   * are woken warm when the bound lifts. Their running tasks finish first (sleep drains).
   */
  maxAwake?: number | undefined;
  /** Members not being deleted. */
  members: readonly PoolMember[];
  /** Members being deleted (draining); a roll waits for them. */
  deleting: number;
  now: number;
}

export interface PoolPlan {
  /** New agents to create from the template. */
  create: number;
  wake: string[];
  sleep: string[];
  /** Agents to delete; the agent controller drains them first. */
  remove: string[];
  /** Agents to move onto the current template in place (they drain, then restart). */
  roll: string[];
  /** When a surplus agent will have idled long enough to sleep. */
  requeueAfterMs?: number;
}

const byName = (a: PoolMember, b: PoolMember): number => a.name.localeCompare(b.name);
const idleFor = (m: PoolMember, now: number): number => (m.idleSince === undefined ? -1 : now - m.idleSince);

// Which agent to let go first: one from an old template, then one doing nothing (not
// ready yet, or idle the longest), then the least busy. Like a ReplicaSet, removing the
// one that serves least costs least.
function leaveOrder(now: number): (a: PoolMember, b: PoolMember) => number {
  return (a, b) =>
    Number(a.upToDate) - Number(b.upToDate) ||
    a.active - b.active ||
    Number(a.ready) - Number(b.ready) ||
    idleFor(b, now) - idleFor(a, now) ||
    byName(a, b);
}

export function planPool(input: PoolPlanInput): PoolPlan {
  const { members, now } = input;
  const desired = Math.min(input.desired, input.maxAgents);
  const plan: PoolPlan = { create: 0, wake: [], sleep: [], remove: [], roll: [] };
  const awake = members.filter((m) => !m.asleep);
  const asleep = members.filter((m) => m.asleep);

  if (awake.length < desired) {
    // Waking a warm agent is cheaper than making one; an up-to-date one needs no roll.
    const wake = [...asleep].sort((a, b) => Number(b.upToDate) - Number(a.upToDate) || byName(a, b)).slice(0, desired - awake.length);
    plan.wake = wake.map((m) => m.name);
    plan.create = Math.max(0, Math.min(desired - awake.length - wake.length, input.maxAgents - members.length));
  } else if (awake.length > desired) {
    const forced = input.maxAwake === undefined ? 0 : Math.min(awake.length - desired, Math.max(0, awake.length - input.maxAwake));
    plan.sleep = [...awake]
      .sort(leaveOrder(now))
      .slice(0, forced)
      .map((m) => m.name);
    const staying = awake.filter((m) => !plan.sleep.includes(m.name));
    const surplus = staying.length - desired;
    if (surplus <= 0) {
      // The bound took all of the surplus.
    } else if (input.sleepAfterIdleMs === undefined) {
      plan.remove = [...staying]
        .sort(leaveOrder(now))
        .slice(0, surplus)
        .map((m) => m.name);
    } else {
      const threshold = input.sleepAfterIdleMs;
      const idle = staying.filter((m) => m.ready && m.active === 0 && m.idleSince !== undefined);
      const due = idle.filter((m) => idleFor(m, now) >= threshold).sort(leaveOrder(now));
      const sleepNow = due.slice(0, surplus).map((m) => m.name);
      plan.sleep.push(...sleepNow);
      const later = idle.filter((m) => idleFor(m, now) < threshold).map((m) => threshold - idleFor(m, now));
      if (sleepNow.length < surplus && later.length > 0) plan.requeueAfterMs = Math.min(...later);
    }
  }

  // A lowered maxAgents: sleeping agents go first, as they serve nothing.
  const over = members.length - input.maxAgents;
  if (over > 0) {
    const extra = asleep
      .filter((m) => !plan.wake.includes(m.name))
      .sort(leaveOrder(now))
      .slice(0, over)
      .map((m) => m.name);
    plan.remove.push(...extra.filter((name) => !plan.remove.includes(name)));
  }

  const scaling = plan.create + plan.wake.length + plan.sleep.length + plan.remove.length > 0;
  const settling = input.deleting > 0 || members.some((m) => m.settling);
  if (!scaling && !settling) plan.roll = rollStep(members, input.maxStep, now);
  return plan;
}

// Sleeping agents run nothing, so they all move at once; awake ones move a step at a
// time, idle ones first, and the next step waits until this one has settled.
function rollStep(members: readonly PoolMember[], maxStep: number, now: number): string[] {
  const old = members.filter((m) => !m.upToDate);
  const asleep = old.filter((m) => m.asleep).sort(byName);
  const awake = old
    .filter((m) => !m.asleep)
    .sort(leaveOrder(now))
    .slice(0, maxStep);
  return [...asleep, ...awake].map((m) => m.name);
}
