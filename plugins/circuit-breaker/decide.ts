// The per-agent circuit breaker as a pure function. The agent runner counts
// consecutiveFailures (a success resets it to 0); the plugin's onTick calls decideCircuit
// and asks for the CircuitOpen condition, whose lastTransitionTime is the `since` returned
// here. The condition is the only memory: open and half-open are told apart by time.
import { rfc3339 } from '../../operator/src/framework/index.ts';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitObservation {
  now: number;
  consecutiveFailures: number;
  failureThreshold: number;
  cooldownMs: number;
  /** The agent's CircuitOpen condition, if it has one: status True and its lastTransitionTime. */
  previous?: { open: boolean; since: number } | undefined;
  /** When the agent's latest failure happened, if known. */
  lastFailureAt?: number | undefined;
}

export interface CircuitDecision {
  state: CircuitState;
  condition: { status: 'True' | 'False'; reason: string; message: string };
  /** The CircuitOpen condition's lastTransitionTime; for an open circuit, when it opened. */
  since: number;
  /** While open: when to look again, at the half-open instant. */
  requeueAfterMs?: number;
}

// Messages name instants, not ages, so that they stay the same from one reconcile to
// the next and the status is not rewritten for nothing.

export function decideCircuit(o: CircuitObservation): CircuitDecision {
  const { now, consecutiveFailures: failures, failureThreshold: threshold, previous } = o;

  if (failures < threshold) {
    return {
      state: 'closed',
      condition: {
        status: 'False',
        reason: 'CircuitClosed',
        message:
          failures === 0 ? 'no failures since the last success' : `${failures} consecutive failure(s); the circuit opens at ${threshold}`,
      },
      since: previous && !previous.open ? previous.since : now,
    };
  }

  // When the circuit opened. Preferring the failure's own instant over `now` keeps the
  // decision (and its message) the same however late the controller looks; it is clamped
  // so that a skewed runner clock cannot date the transition in the future or before the
  // circuit last closed.
  const openedAt = (floor: number, t: number | undefined): number => Math.min(now, Math.max(floor, t ?? now));
  let since: number;
  if (previous?.open) {
    // A failure after the half-open instant is the trial failing: open again, from then.
    const halfOpenedAt = previous.since + o.cooldownMs;
    const trialFailed = o.lastFailureAt !== undefined && o.lastFailureAt > halfOpenedAt && now > halfOpenedAt;
    since = trialFailed ? openedAt(halfOpenedAt, o.lastFailureAt) : previous.since;
  } else {
    since = openedAt(previous?.since ?? Number.NEGATIVE_INFINITY, o.lastFailureAt);
  }

  const halfOpenAt = since + o.cooldownMs;
  if (now >= halfOpenAt) {
    return {
      state: 'half-open',
      condition: {
        status: 'True',
        reason: 'HalfOpen',
        message: `cooldown ended at ${rfc3339(halfOpenAt)}: one trial task is let through; a success closes the circuit, a failure opens it again`,
      },
      since,
    };
  }
  return {
    state: 'open',
    condition: {
      status: 'True',
      reason: 'TooManyFailures',
      message: `${failures} consecutive failures reached the threshold of ${threshold}: no tasks until ${rfc3339(halfOpenAt)}, then one trial task`,
    },
    since,
    requeueAfterMs: halfOpenAt - now,
  };
}
