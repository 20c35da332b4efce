// Which Agent status writes can wait: pure, like agent-lifecycle.ts, whose decision they read.
import type { AgentDecision, AgentPhase } from './agent-lifecycle.ts';

/** How long a new agent may go without a status while it is on its way to Ready. */
export const FIRST_STATUS_QUIET_MS = 2_000;

/** What the status says now: its phase and its conditions' status and reason. */
export interface WrittenStatus {
  phase?: AgentPhase | undefined;
  conditions?: readonly { type: string; status: string; reason: string }[] | undefined;
}

/**
 * How long to hold back the first status of an agent still on its way (Pending,
 * Starting) since `since`; undefined to write it now. Its runner usually beats a few ms
 * after the Pod runs: writing each phase on the way would cost three status writes and
 * three Events for one registration, and the budget they share bounds how fast a fleet
 * starts.
 */
export function firstStatusHeldForMs(
  current: WrittenStatus | undefined,
  decided: AgentPhase,
  since: number,
  now: number,
): number | undefined {
  if (current?.phase !== undefined || (decided !== 'Pending' && decided !== 'Starting')) return undefined;
  // `since` is the API server's time, in whole seconds: a workload made a moment ago can
  // look a little in the future. A clock far behind the server's must not hold it forever.
  const age = now - since;
  return age > -FIRST_STATUS_QUIET_MS && age < FIRST_STATUS_QUIET_MS ? FIRST_STATUS_QUIET_MS - Math.max(0, age) : undefined;
}

/**
 * A write nobody acts on, which may give way to work that moves agents on: the phase on
 * the way to Ready from one that was not serving (nothing routes to either), or a refresh
 * that changes neither the phase nor the conditions' status and reason (the heartbeat
 * time, counts).
 */
export function reportOnly(current: WrittenStatus | undefined, decision: Pick<AgentDecision, 'phase' | 'ready' | 'healthy'>): boolean {
  const previous = current?.phase;
  if (decision.phase === 'Pending' || decision.phase === 'Starting') return previous !== 'Ready' && previous !== 'Busy';
  if (previous !== decision.phase) return false;
  const same = (type: string, c: { status: string; reason: string }): boolean => {
    const was = current?.conditions?.find((x) => x.type === type);
    return was?.status === c.status && was.reason === c.reason;
  };
  return same('Ready', decision.ready) && same('Healthy', decision.healthy);
}

/**
 * The `status.lastHeartbeatTime` to write, in ms, given the one recorded and the Lease's
 * renewal (`heartbeatAt`); undefined: none. Copying every renewal would write the Agent
 * on every heartbeat, so the recorded time stands while it lags by less than `maxLagMs`.
 * A recorded time later than the renewal is not one the operator wrote (a runner may
 * patch its own status): it is replaced, or it would stand for ever.
 */
export function heartbeatTimeToRecord(recorded: number | undefined, heartbeatAt: number | undefined, maxLagMs: number): number | undefined {
  if (heartbeatAt === undefined) return recorded;
  if (recorded !== undefined && recorded <= heartbeatAt && heartbeatAt - recorded < maxLagMs) return recorded;
  return heartbeatAt;
}
