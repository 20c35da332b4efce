// How big an autoscaling pool should be, as a pure function: the pool controller counts
// the load, keeps the history this returns (in memory; it is lost on restart, which is
// safe, see 4), and calls decideScale on every look. The rules, modelled on the
// HorizontalPodAutoscaler's `behavior`:
//
//  1. Floor. A pool keeps at least max(minAgents, 1) agents; with scaleToZero it may have
//     none (the CRD then requires minAgents: 0).
//  2. Need. need = ceil(active / maxConcurrentTasks + pending / targetPendingPerAgent):
//     enough agents to run what is running at full concurrency, plus one for every
//     targetPendingPerAgent tasks waiting. Computed in integers, so it is exact.
//  3. Recommendation. The need clamped to [floor, maxAgents].
//  4. History. The recommendations of past looks, with their time. An empty history (the
//     first look, or the first after an operator restart) is seeded with the current size,
//     clamped to the bounds, as if it had been recommended now: so a restart scales neither
//     down before the scale-down window has passed nor up before the scale-up window has.
//     A window of 0 s ignores the seed. The returned history drops what has left the
//     longer window, and anything dated after now, and ends with this look's
//     recommendation. A history that is not empty but has aged out entirely (no look for
//     longer than both windows) is not seeded again: the pool then follows this look's
//     recommendation, as with no windows at all.
//  5. Stabilization. A past recommendation is in a window of S seconds when it is less
//     than S seconds old; this look's is always in it. The pool scales up only to the
//     lowest recommendation of the scale-up window (the need must have held for the whole
//     window) and down only to the highest of the scale-down window (a dip does not shrink
//     it), and otherwise stays the size it is.
//  6. Step. It grows by at most scaleUp.maxStep agents in one look.
//  7. Waking. A pool at zero with pending tasks gets one agent at once, whatever the
//     scale-up window says.
//  8. Pending work. While tasks wait, the pool does not shrink.
//  9. Bounds. The result is clamped to [floor, maxAgents] last: bounds win over the rules
//     above, so lowering maxAgents below the current size scales down at once, and
//     raising minAgents scales up at once, past maxStep.
// 10. limitedBy names what held the size back from the raw need, the first that applies
//     of: maxAgents, maxStep, upStabilization, downStabilization, pendingWork, minAgents.
// 11. reason says the same in one sentence with the numbers that matter; it names counts,
//     never ages, so that it reads the same from one look to the next and the status is
//     not rewritten for nothing.
// 12. Awake bounds. Bounds a plugin holds for the pool (a schedule's window) clamp the
//     result after everything else: at most maxAwake (which wins, even over minAgents:
//     a night window may put the whole pool to sleep) and at least minAwake (capped at
//     maxAgents). They do not enter the history, so when they lift the pool goes straight
//     back to what its load asks for. When one moves the size, limitedBy is maxAwake or
//     minAwake and the reason quotes the bound's own reason.

export interface PoolScaling {
  minAgents: number;
  maxAgents: number;
  targetPendingPerAgent: number;
  scaleUp: { stabilizationSeconds: number; maxStep: number };
  scaleDown: { stabilizationSeconds: number };
  scaleToZero: boolean;
  /** The template's spec.maxConcurrentTasks (tasks one agent runs at once). */
  maxConcurrentTasks: number;
}

export interface PoolLoad {
  /** Pending tasks the pool's template can serve. */
  pending: number;
  /** Tasks assigned to or running on the pool's agents. */
  active: number;
  /** Awake agents in the pool now (not sleeping, not being deleted). */
  current: number;
}

export interface Recommendation {
  /** ms */
  at: number;
  agents: number;
}

export type ScaleLimit =
  'maxAgents' | 'minAgents' | 'maxStep' | 'upStabilization' | 'downStabilization' | 'pendingWork' | 'maxAwake' | 'minAwake';

/** Bounds on the pool's awake agents that hold for now (lifecycle plugins' `pool` intents, combined). */
export interface AwakeBounds {
  /** Keep at least this many awake (no more than maxAgents). */
  minAwake?: { count: number; reason: string } | undefined;
  /** Keep at most this many awake; wins over minAwake and minAgents. */
  maxAwake?: { count: number; reason: string } | undefined;
}

export interface ScaleDecision {
  desired: number;
  /** The raw recommendation of this look, clamped to the pool's bounds. */
  recommendation: number;
  /** History to pass to the next call: pruned to the longer window, with this look added. */
  history: Recommendation[];
  /** What held the decision back from the raw need, if anything. */
  limitedBy?: ScaleLimit;
  /** One sentence a person can act on. */
  reason: string;
}

/** ceil(a / b) for non-negative integers, without a floating-point quotient. */
function ceilDiv(a: number, b: number): number {
  const rest = a % b;
  return (a - rest) / b + (rest > 0 ? 1 : 0);
}

const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

export function decideScale(
  pool: PoolScaling,
  load: PoolLoad,
  history: readonly Recommendation[],
  now: number,
  awake: AwakeBounds = {},
): ScaleDecision {
  const { pending, active, current } = load;
  const { maxAgents } = pool;
  const floor = pool.scaleToZero ? 0 : Math.max(pool.minAgents, 1);
  const bound = (n: number): number => Math.min(Math.max(n, floor), maxAgents);

  // The schema keeps both at 1 or more; a zero here would size the pool NaN.
  const perAgent = Math.max(1, pool.maxConcurrentTasks);
  const target = Math.max(1, pool.targetPendingPerAgent);
  const need = ceilDiv(active * target + pending * perAgent, perAgent * target);
  const recommendation = bound(need);

  const upMs = pool.scaleUp.stabilizationSeconds * 1000;
  const downMs = pool.scaleDown.stabilizationSeconds * 1000;
  const keepMs = Math.max(upMs, downMs);
  // A recommendation dated after now means the clock went back: how old it is cannot be
  // told, so it is dropped rather than held for longer than its window.
  const past = history.length > 0 ? history.filter((r) => r.at <= now) : [{ at: now, agents: bound(current) }];
  // Past recommendations are read against today's bounds, so that a bound changed since
  // acts at once and the reason never quotes a size the pool may no longer have.
  let upRec = recommendation;
  let downRec = recommendation;
  for (const r of past) {
    if (r.at > now - upMs) upRec = Math.min(upRec, bound(r.agents));
    if (r.at > now - downMs) downRec = Math.max(downRec, bound(r.agents));
  }

  let desired = current;
  if (desired < upRec) desired = upRec;
  if (desired > downRec) desired = downRec;
  const stabilized = desired;
  if (desired > current) desired = Math.min(desired, current + pool.scaleUp.maxStep);
  const stepped = desired;
  // Nothing can run at zero, so the first agent does not wait for the need to prove itself.
  if (current === 0 && pending > 0) desired = Math.max(desired, 1);
  const woken = desired;
  if (pending > 0 && desired < current) desired = Math.min(current, maxAgents);
  const held = desired;
  desired = bound(desired);

  let limitedBy: Exclude<ScaleLimit, 'maxAwake' | 'minAwake'> | undefined;
  if (need > maxAgents && desired === maxAgents) limitedBy = 'maxAgents';
  else if (stepped < stabilized && desired < stabilized) limitedBy = 'maxStep';
  else if (desired < recommendation && upRec < recommendation) limitedBy = 'upStabilization';
  else if (desired > recommendation && downRec > recommendation && held === woken) limitedBy = 'downStabilization';
  else if (desired > recommendation && held > woken) limitedBy = 'pendingWork';
  else if (need < floor && desired === floor) limitedBy = 'minAgents';

  const tasks = `${pending} pending and ${active} running task${active === 1 ? '' : 's'}`;
  const want = `${tasks} ${pending + active === 1 ? 'wants' : 'want'} ${count(need, 'agent')}`;
  const move =
    desired > current
      ? `scaling up ${current} → ${desired}`
      : desired < current
        ? `scaling down ${current} → ${desired}`
        : `holding ${desired}`;
  const waking = current === 0 && desired > 0 && pending > 0;
  let reason: string;
  switch (limitedBy) {
    case 'maxAgents':
      reason = `${desired === current ? `at maxAgents ${maxAgents}` : `${move} (maxAgents ${maxAgents})`}: ${want}; raise maxAgents to run more at once`;
      break;
    case 'maxStep':
      reason = `${move} (scaleUp.maxStep ${pool.scaleUp.maxStep}): ${want}`;
      break;
    case 'upStabilization': {
      const head =
        desired === current
          ? 'waiting for scale-up stabilization'
          : `${waking ? `waking from zero to ${count(desired, 'agent')}` : move}, waiting for scale-up stabilization`;
      // The pool may be held above that lowest need, by an earlier one: then say at what.
      const at = desired === current && desired !== upRec ? `; holding ${desired}` : '';
      reason = `${head}: ${count(recommendation, 'agent')} wanted, but the lowest need in the last ${pool.scaleUp.stabilizationSeconds}s was ${upRec}${at}`;
      break;
    }
    case 'downStabilization':
      reason = `${desired === current ? `holding ${desired}` : `${move} only,`} for scale-down stabilization: the highest need in the last ${pool.scaleDown.stabilizationSeconds}s was ${downRec}; now ${recommendation}`;
      break;
    case 'pendingWork':
      // It can only shrink here when maxAgents was lowered below the pool.
      reason = `${desired < current ? `${move} (maxAgents ${maxAgents})` : move}: ${count(pending, 'pending task')} still ${pending === 1 ? 'needs' : 'need'} the capacity`;
      break;
    case 'minAgents': {
      // Without scaleToZero a pool keeps one agent even at minAgents 0; saying "minAgents 1"
      // would send the reader to a field that is not the cause.
      const bySetting = pool.minAgents >= 1 ? `minAgents ${floor}` : 'scaleToZero is off';
      const head =
        desired !== current
          ? `${move} (${bySetting})`
          : pool.minAgents >= 1
            ? `at minAgents ${floor}`
            : `keeping 1 agent as scaleToZero is off`;
      reason = `${head}: ${tasks}`;
      break;
    }
    case undefined:
      if (desired === 0) reason = current === 0 ? 'idle at zero: a pending task wakes the pool' : 'idle: scaling to zero';
      else if (waking && active === 0)
        reason = `waking from zero${desired === 1 ? '' : ` to ${count(desired, 'agent')}`}: ${count(pending, 'pending task')}`;
      else if (desired === current) reason = `steady at ${desired}: ${tasks}`;
      else reason = `${move}: ${want}`;
  }

  const kept = [...past.filter((r) => r.at > now - keepMs), { at: now, agents: recommendation }];
  const bounded = boundAwake(desired, maxAgents, awake);
  if (bounded !== undefined) {
    const head =
      bounded.desired > current
        ? `scaling up ${current} → ${bounded.desired}`
        : bounded.desired < current
          ? `scaling down ${current} → ${bounded.desired}`
          : `holding ${bounded.desired}`;
    return {
      desired: bounded.desired,
      recommendation,
      history: kept,
      limitedBy: bounded.limitedBy,
      reason: `${head}: ${bounded.reason}; ${want}`,
    };
  }
  return {
    desired,
    recommendation,
    history: kept,
    ...(limitedBy === undefined ? {} : { limitedBy }),
    reason,
  };
}

/**
 * Bounds several sources hold for one pool (lifecycle plugins' pool intents), as one
 * pair: the highest minimum and the lowest maximum, each with the reason of the one that
 * set it and the name of its plugin (named by the host, not trusted to name itself).
 */
export function awakeBounds(
  held: readonly { plugin: string; bounds: { minAwake?: number; maxAwake?: number; reason: string } }[],
): AwakeBounds {
  const result: AwakeBounds = {};
  for (const { plugin, bounds } of held) {
    const reason = `${bounds.reason} (plugin ${plugin})`;
    const min = bounds.minAwake;
    const max = bounds.maxAwake;
    if (min !== undefined && Number.isFinite(min) && (result.minAwake === undefined || min > result.minAwake.count)) {
      result.minAwake = { count: Math.max(0, Math.floor(min)), reason };
    }
    if (max !== undefined && Number.isFinite(max) && (result.maxAwake === undefined || max < result.maxAwake.count)) {
      result.maxAwake = { count: Math.max(0, Math.floor(max)), reason };
    }
  }
  return result;
}

/** The size once awake bounds hold, when they move it; undefined when the size is within them. */
function boundAwake(
  desired: number,
  maxAgents: number,
  awake: AwakeBounds,
): { desired: number; limitedBy: ScaleLimit; reason: string } | undefined {
  const max = awake.maxAwake === undefined ? undefined : Math.max(0, awake.maxAwake.count);
  if (awake.maxAwake !== undefined && max !== undefined && desired > max)
    return { desired: max, limitedBy: 'maxAwake', reason: awake.maxAwake.reason };
  const min = awake.minAwake === undefined ? undefined : Math.min(Math.max(0, awake.minAwake.count), maxAgents, max ?? maxAgents);
  if (awake.minAwake !== undefined && min !== undefined && desired < min)
    return { desired: min, limitedBy: 'minAwake', reason: awake.minAwake.reason };
  return undefined;
}
