// The Agent lifecycle as a pure function: observations in, phase, conditions and one
// action out. The agent controller gathers the observations, calls decideAgent, and
// carries the action out. No I/O and no clock here: `now` is an input.
import { rfc3339 } from './timestamp.ts';

export type AgentPhase = 'Pending' | 'Starting' | 'Ready' | 'Busy' | 'Sleeping' | 'Draining' | 'Failed' | 'Terminating';

/** What the runtime reports of the workload (a Pod or a container). */
export interface WorkloadObservation {
  phase: 'Pending' | 'Running' | 'Exited' | 'Unknown';
  /** Hash of the spec the workload was made from. */
  specHash?: string;
  /**
   * The restart request (ms) the workload was made under, 0 for none; undefined when the
   * workload does not say (made before this was recorded).
   */
  restartRequest?: number;
  reason?: string;
  message?: string;
  exitCode?: number;
  startedAt?: number;
  finishedAt?: number;
}

export interface AgentObservation {
  now: number;
  deleting: boolean;
  desiredState: 'Active' | 'Sleeping';
  /** Hash of the current spec's workload fields. */
  specHash: string;
  /** undefined: the Agent has no workload. */
  workload: WorkloadObservation | undefined;
  /**
   * A failure of the runtime this reconcile (image missing, engine unreachable);
   * `observing`: the workload could not even be looked at, so whether it runs is unknown.
   */
  runtimeError?: { reason: string; message: string; observing?: boolean } | undefined;
  /** The heartbeat Lease's last renewal; undefined when there is no Lease or it was released. */
  heartbeatAt?: number | undefined;
  heartbeatTimeoutMs: number;
  /** Tasks assigned to the Agent that have not finished. */
  activeTasks: number;
  /** When draining began (kept in status), if it has. */
  drainingSince?: number | undefined;
  drainGraceMs: number;
  /** Restarts (and failed starts) so far; drives the backoff. */
  restarts: number;
  /** How long a started workload may go without a first heartbeat. */
  startupGraceMs: number;
  /**
   * When a restart of the workload was last asked for (the agents.orchestrator.dev/restartedAt
   * annotation, written by the plugin host for a `restart` intent or by a person).
   */
  restartRequestedAt?: number | undefined;
}

export interface ConditionDecision {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export type AgentAction =
  | { type: 'none' }
  /** Create the workload, or start it if it exists but stopped. */
  | { type: 'ensure' }
  /** Start an exited workload again: a restart, counted. */
  | { type: 'restart' }
  /** Remove the workload (to sleep, to roll onto a new spec, or before deletion). */
  | { type: 'remove' }
  /** Remove a running workload so that it is made again: a restart that was asked for, counted. */
  | { type: 'replace' }
  /** The workload is gone and the Agent is being deleted: drop the finalizer. */
  | { type: 'finalize' };

export interface AgentDecision {
  phase: AgentPhase;
  ready: ConditionDecision;
  healthy: ConditionDecision;
  action: AgentAction;
  /** Draining start to keep in status; undefined clears it. */
  drainingSince?: number;
  /** The restart counter to keep in status. */
  restarts: number;
  /** When to look again if nothing else happens first (heartbeat expiry, backoff end). */
  requeueAfterMs?: number;
}

/** The Ready reason of an agent that serves while its runtime cannot be reached. */
export const RUNTIME_UNAVAILABLE = 'RuntimeUnavailable';

const RESTART_BACKOFF_BASE_MS = 10_000;
const RESTART_BACKOFF_MAX_MS = 300_000;

// Reasons a waiting workload will not get better by waiting: report them as Failed.
const STUCK_REASONS = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/** Restart delay after `restarts` restarts: 10 s doubling to 5 min, like the kubelet's. */
export function restartBackoffMs(restarts: number): number {
  return Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_BASE_MS * 2 ** Math.max(0, restarts));
}

const seconds = (ms: number): string => `${Math.round(ms / 1000)}s`;

/**
 * Whether the workload predates the last restart request, so it must be replaced. A
 * workload records the request it was made under (exact, whatever the clocks say). One
 * that does not (made before the operator recorded it) is judged by time, in the whole
 * seconds the API writes: a running one by its start; an exited one (a Pod being deleted,
 * a stopped container) by its start or its end, and one with neither is older than any
 * request; one still being made (Pending) is the replacement, never replaced.
 */
export function restartDue(o: Pick<AgentObservation, 'workload' | 'restartRequestedAt'>): boolean {
  const { workload: w, restartRequestedAt: asked } = o;
  if (asked === undefined || w === undefined) return false;
  if (w.restartRequest !== undefined) return asked > w.restartRequest;
  if (w.phase === 'Running') return w.startedAt !== undefined && asked > w.startedAt;
  if (w.phase === 'Exited') return asked > (w.startedAt ?? w.finishedAt ?? Number.NEGATIVE_INFINITY);
  return false;
}
// Messages name instants, not ages: a message that changed on every look would rewrite
// the status on every reconcile.

export function decideAgent(o: AgentObservation): AgentDecision {
  const heartbeatAge = o.heartbeatAt === undefined ? undefined : o.now - o.heartbeatAt;
  const fresh = heartbeatAge !== undefined && heartbeatAge <= o.heartbeatTimeoutMs;
  const healthy = healthOf(o, heartbeatAge, fresh);
  const base = { healthy, restarts: o.restarts };
  const heartbeatExpiry = fresh ? o.heartbeatTimeoutMs - heartbeatAge + 1 : undefined;

  // Leaving: deletion, sleep, a spec change that needs a new workload, or a restart that
  // was asked for. Running tasks get the grace period to finish before the workload goes.
  const leaving = o.deleting
    ? 'Terminating'
    : o.desiredState === 'Sleeping'
      ? 'Sleeping'
      : o.workload?.specHash !== undefined && o.workload.specHash !== o.specHash
        ? 'Rolling'
        : restartDue(o)
          ? 'Restarting'
          : undefined;
  const asked = o.restartRequestedAt === undefined ? '' : rfc3339(o.restartRequestedAt);
  if (leaving) {
    if (o.workload && o.activeTasks > 0 && fresh) {
      const since = o.drainingSince ?? o.now;
      const left = since + o.drainGraceMs - o.now;
      if (left > 0) {
        return {
          ...base,
          phase: 'Draining',
          drainingSince: since,
          ready: cond(
            'False',
            'Draining',
            `${leaving === 'Rolling' ? 'rolling onto a new spec' : leaving === 'Restarting' ? `restarting as asked at ${asked}` : leaving === 'Sleeping' ? 'going to sleep' : 'being deleted'}: waiting for ${o.activeTasks} running task(s) until ${rfc3339(since + o.drainGraceMs)} at the latest`,
          ),
          action: { type: 'none' },
          requeueAfterMs: Math.min(left, heartbeatExpiry ?? left),
        };
      }
    }
    const phase: AgentPhase =
      leaving === 'Rolling' || leaving === 'Restarting' ? 'Starting' : leaving === 'Sleeping' ? 'Draining' : 'Terminating';
    if (leaving === 'Restarting' && o.workload) {
      // Counted once, when the running workload is taken down; an exited one that is still
      // going (a Pod terminating) is only removed again.
      const first = o.workload.phase === 'Running';
      return {
        ...base,
        phase,
        ready: cond('False', 'Restarting', `restarting the workload as asked at ${asked} (annotation agents.orchestrator.dev/restartedAt)`),
        action: { type: first ? 'replace' : 'remove' },
        restarts: first ? o.restarts + 1 : o.restarts,
      };
    }
    if (o.runtimeError && !o.workload) {
      // The runtime cannot be reached, so whether a workload is left is unknown: keep
      // trying to remove it rather than assume it is gone.
      const wait = restartBackoffMs(o.restarts);
      return {
        ...base,
        phase,
        ready: cond('False', o.runtimeError.reason, `cannot remove the workload: ${o.runtimeError.message}; retrying in ${seconds(wait)}`),
        action: { type: 'remove' },
        restarts: o.restarts + 1,
        requeueAfterMs: wait,
      };
    }
    if (o.workload) {
      return {
        ...base,
        phase,
        ready: cond(
          'False',
          leaving === 'Rolling' ? 'Rolling' : leaving === 'Sleeping' ? 'Draining' : 'Terminating',
          'stopping the workload',
        ),
        action: { type: 'remove' },
      };
    }
    if (leaving === 'Terminating') {
      return { ...base, phase: 'Terminating', ready: cond('False', 'Terminating', 'the workload is gone'), action: { type: 'finalize' } };
    }
    if (leaving === 'Sleeping') {
      return {
        ...base,
        phase: 'Sleeping',
        ready: cond('False', 'Sleeping', 'spec.desiredState is Sleeping: the workload is stopped; set Active to wake it'),
        action: { type: 'none' },
      };
    }
  }

  if (o.runtimeError?.observing && !o.workload && fresh) {
    // The runtime cannot be asked, but the runner answers for itself: it keeps serving.
    // Nothing is restarted or counted until the runtime answers again; the message names
    // no countdown, so the status is written once, not on every heartbeat.
    return {
      ...base,
      phase: o.activeTasks > 0 ? 'Busy' : 'Ready',
      ready: cond(
        'True',
        RUNTIME_UNAVAILABLE,
        `serving on its heartbeat, but ${o.runtimeError.message}: the workload is not watched or restarted until the runtime answers`,
      ),
      action: { type: 'none' },
      ...(heartbeatExpiry !== undefined ? { requeueAfterMs: heartbeatExpiry } : {}),
    };
  }

  if (o.runtimeError) {
    const wait = restartBackoffMs(o.restarts);
    return {
      ...base,
      phase: 'Failed',
      ready: cond('False', o.runtimeError.reason, `${o.runtimeError.message}; retrying in ${seconds(wait)}`),
      action: { type: 'none' },
      restarts: o.restarts + 1,
      requeueAfterMs: wait,
    };
  }

  const w = o.workload;
  if (!w) {
    return { ...base, phase: 'Starting', ready: cond('False', 'WorkloadStarting', 'creating the workload'), action: { type: 'ensure' } };
  }

  if (w.phase === 'Exited') {
    const exit = `exited with code ${w.exitCode ?? 'unknown'}${w.reason ? ` (${w.reason})` : ''}${w.message ? `: ${w.message}` : ''}`;
    const wait = restartBackoffMs(o.restarts);
    const due = (w.finishedAt ?? o.now) + wait - o.now;
    if (due > 0) {
      return {
        ...base,
        phase: 'Failed',
        ready: cond('False', 'CrashLoopBackOff', `the workload ${exit}; restarting at ${rfc3339(o.now + due)} (backoff ${seconds(wait)})`),
        action: { type: 'none' },
        requeueAfterMs: Math.min(due, heartbeatExpiry ?? due),
      };
    }
    return {
      ...base,
      phase: 'Starting',
      ready: cond('False', 'Restarting', `the workload ${exit}; restart ${o.restarts + 1}`),
      action: { type: 'restart' },
      restarts: o.restarts + 1,
    };
  }

  if (w.phase === 'Pending' && w.reason && STUCK_REASONS.has(w.reason)) {
    return {
      ...base,
      phase: 'Failed',
      ready: cond('False', w.reason, w.message ?? w.reason),
      action: { type: 'none' },
    };
  }

  if (w.phase === 'Running') {
    if (fresh) {
      return {
        ...base,
        phase: o.activeTasks > 0 ? 'Busy' : 'Ready',
        ready: cond('True', 'HeartbeatRenewed', o.activeTasks > 0 ? `running ${o.activeTasks} task(s)` : 'waiting for tasks'),
        action: { type: 'none' },
        // A runner that proves itself healthy earns a fresh backoff.
        restarts: 0,
        ...(heartbeatExpiry !== undefined ? { requeueAfterMs: heartbeatExpiry } : {}),
      };
    }
    if (heartbeatAge !== undefined) {
      return {
        ...base,
        phase: 'Failed',
        ready: cond(
          'False',
          'HeartbeatExpired',
          `no heartbeat since ${rfc3339(o.now - heartbeatAge)} (timeout ${seconds(o.heartbeatTimeoutMs)}) although the workload runs`,
        ),
        action: { type: 'none' },
      };
    }
    const runningFor = w.startedAt === undefined ? 0 : o.now - w.startedAt;
    const left = o.startupGraceMs - runningFor;
    if (left <= 0) {
      return {
        ...base,
        phase: 'Failed',
        ready: cond(
          'False',
          'NoHeartbeat',
          `the workload has run since ${rfc3339(o.now - runningFor)} without a heartbeat: is the agent runner in the image and able to reach the API server?`,
        ),
        action: { type: 'none' },
      };
    }
    return {
      ...base,
      phase: 'Starting',
      ready: cond('False', 'WaitingForHeartbeat', 'the workload runs; waiting for the runner’s first heartbeat'),
      action: { type: 'none' },
      requeueAfterMs: left,
    };
  }

  return {
    ...base,
    phase: w.phase === 'Pending' ? 'Pending' : 'Starting',
    ready: cond(
      'False',
      w.reason ?? (w.phase === 'Pending' ? 'WorkloadPending' : 'WorkloadUnknown'),
      w.message ?? `the workload is ${w.phase.toLowerCase()}`,
    ),
    action: { type: 'none' },
  };
}

function healthOf(o: AgentObservation, age: number | undefined, fresh: boolean): ConditionDecision {
  if (age === undefined) return cond('Unknown', 'NoHeartbeat', 'the runner has not renewed its Lease yet');
  if (fresh) return cond('True', 'HeartbeatRenewed', `the runner renews its Lease within the ${seconds(o.heartbeatTimeoutMs)} timeout`);
  return cond('False', 'HeartbeatExpired', `no heartbeat since ${rfc3339(o.now - age)}, timeout ${seconds(o.heartbeatTimeoutMs)}`);
}

function cond(status: ConditionDecision['status'], reason: string, message: string): ConditionDecision {
  return { status, reason, message };
}
