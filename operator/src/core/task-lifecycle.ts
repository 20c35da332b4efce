// The Task lifecycle as a pure function: where a task is, what happened to its agent,
// its dependencies and the clock in; its next phase and the status changes out. The
// router (framework/cycle.ts) decides *where* a Pending task goes; this decides *when*
// a task is routable, what happens to an attempt, and when a task is finished.
import { rfc3339 } from './timestamp.ts';

export type TaskPhase = 'Pending' | 'Blocked' | 'Assigned' | 'Running' | 'Succeeded' | 'Failed' | 'Cancelled';

export interface HistoryEntry {
  agent: string;
  outcome: 'Succeeded' | 'Failed' | 'TimedOut' | 'Lost' | 'Cancelled';
  reason?: string | undefined;
  time: string;
}

export type DependencyState =
  | { state: 'ready' }
  | { state: 'waiting'; reason: string; message: string }
  | { state: 'failed' | 'cycle'; reason: string; message: string };

/** The assigned agent as the task controller sees it. */
export interface AssignedAgent {
  exists: boolean;
  /** Heartbeat fresh (the Agent's Healthy condition is True). */
  healthy: boolean;
  /** Asleep, draining or being deleted. */
  leaving: boolean;
  /** Who holds the agent's heartbeat Lease now: one runner process (`<agent>_<boot id>`). */
  holder?: string | undefined;
  /** When the agent's workload (Pod container or Docker container) last started. */
  workloadStartedAt?: number | undefined;
}

export interface TaskObservation {
  now: number;
  phase: TaskPhase | undefined;
  cancel: boolean;
  attempts: number;
  /** `claimedBy`: the runner process that took the attempt from Assigned to Running. */
  assignment?: { agent: string; attempt: number; assignedAt: number; claimedBy?: string | undefined } | undefined;
  startedAt?: number | undefined;
  retryAt?: number | undefined;
  completedAt?: number | undefined;
  /** The Finished condition is True: the task ended for good (a Failed phase with it is final). */
  finished: boolean;
  history: readonly HistoryEntry[];
  timeoutMs: number;
  retries: { max: number; backoffMs: number };
  /** How long a handed-back task waits before it is routed again. */
  reassignDelayMs: number;
  /** Extra time past timeoutSeconds before the controller fails a Running attempt itself. */
  timeoutGraceMs: number;
  dependencies: DependencyState;
  agent?: AssignedAgent | undefined;
}

export interface TaskDecision {
  phase: TaskPhase;
  /** Status fields to set; `null` removes one. */
  set: {
    assignment?: null;
    retryAt?: number | null;
    queuedAt?: number;
    completedAt?: number;
  };
  /** A history entry to append (the attempt that just ended here). */
  append?: HistoryEntry;
  /** The condition that says where the task is, when this function knows (Blocked, BackingOff, Finished...). */
  condition?: { type: 'Scheduled' | 'Finished'; status: 'True' | 'False'; reason: string; message: string };
  /** The router may place it now. */
  routable: boolean;
  requeueAfterMs?: number;
  /** What happened, for logs, events and metrics. */
  event?: { kind: 'retry' | 'handBack' | 'timeout' | 'failed' | 'cancelled' | 'blocked' | 'unblocked' | 'succeeded'; message: string };
}

const FAILED_OUTCOMES = new Set(['Failed', 'TimedOut']);

/** What a decision about a task was made on: its phase and the attempt it holds. */
export interface DecidedOn {
  phase?: string | undefined;
  assignment?: { agent: string; attempt: number; claimedBy?: string | null | undefined } | undefined;
}

/**
 * Whether a decision made on `decided` still applies to `fresh`, a newer copy read after
 * a write conflict. The phase alone is not enough: in the time a write waits, a runner can
 * hand an attempt back, the router assign the next one and a runner claim it, and the
 * task is Running again, another attempt. A hand-back decided for the first would then
 * take away the second.
 */
export function stillDecidable(decided: DecidedOn, fresh: DecidedOn): boolean {
  const a = decided.assignment;
  const b = fresh.assignment;
  return (
    decided.phase === fresh.phase &&
    a?.agent === b?.agent &&
    a?.attempt === b?.attempt &&
    (a?.claimedBy ?? undefined) === (b?.claimedBy ?? undefined)
  );
}

/** How many attempts status.history holds (the schema's bound): the oldest fall out. */
export const HISTORY_MAX = 32;

/**
 * Failed or timed-out attempts: what retries.max limits (lost attempts are not the task's
 * fault). retries.max goes to 100 but a full history holds the last 32 of the `attempts`
 * started: those that fell out count as failed, their outcome gone. Counted from what is
 * left, a task allowed 32 retries or more retried for ever.
 */
export function failedAttempts(history: readonly HistoryEntry[], attempts = 0): number {
  const fellOut = history.length >= HISTORY_MAX ? Math.max(0, attempts - history.length) : 0;
  return history.filter((h) => FAILED_OUTCOMES.has(h.outcome)).length + fellOut;
}

/**
 * Finished for good: Succeeded, Cancelled, or Failed with the Finished condition (set
 * when retries ran out or a dependency failed). A Failed phase without it is an attempt
 * the task controller is about to retry.
 */
export function isTerminal(phase: TaskPhase | undefined, finished: boolean): boolean {
  return phase === 'Succeeded' || phase === 'Cancelled' || (phase === 'Failed' && finished);
}

/** Backoff before retry n (1-based): backoffSeconds doubling, at most an hour. */
export function retryDelayMs(backoffMs: number, failures: number): number {
  return Math.min(3_600_000, backoffMs * 2 ** Math.max(0, failures - 1));
}

export function decideTask(o: TaskObservation): TaskDecision {
  const stay = (phase: TaskPhase, extra: Partial<TaskDecision> = {}): TaskDecision => ({ phase, set: {}, routable: false, ...extra });

  const completed = o.completedAt === undefined ? { completedAt: o.now } : {};
  if (o.phase === 'Cancelled') return stay('Cancelled');
  if (o.phase === 'Failed' && o.finished) return stay('Failed');
  if (o.phase === 'Succeeded') {
    return stay('Succeeded', {
      set: completed,
      condition: { type: 'Finished', status: 'True', reason: 'Succeeded', message: `succeeded on attempt ${o.attempts}` },
      ...(o.completedAt === undefined ? { event: { kind: 'succeeded' as const, message: `succeeded on attempt ${o.attempts}` } } : {}),
    });
  }

  if (o.cancel) {
    const running = o.assignment && (o.phase === 'Assigned' || o.phase === 'Running');
    return {
      phase: 'Cancelled',
      set: { assignment: null, retryAt: null, ...completed },
      ...(running
        ? {
            append: {
              agent: o.assignment?.agent ?? '',
              outcome: 'Cancelled' as const,
              reason: 'spec.cancel is true',
              time: rfc3339(o.now),
            },
          }
        : {}),
      condition: { type: 'Finished', status: 'True', reason: 'Cancelled', message: 'cancelled: spec.cancel is true' },
      routable: false,
      event: { kind: 'cancelled', message: 'cancelled by spec.cancel' },
    };
  }

  if (o.phase === 'Failed') {
    const failures = failedAttempts(o.history, o.attempts);
    const last = o.history.at(-1);
    if (failures > o.retries.max) {
      return stay('Failed', {
        set: completed,
        condition: {
          type: 'Finished',
          status: 'True',
          reason: 'RetriesExhausted',
          message: `failed after ${failures} attempt(s)${last?.reason ? `; last: ${last.reason}` : ''}`,
        },
        ...(o.completedAt === undefined
          ? { event: { kind: 'failed' as const, message: `failed for good after ${failures} failed attempt(s)` } }
          : {}),
      });
    }
    const retryAt = o.now + retryDelayMs(o.retries.backoffMs, failures);
    return {
      phase: 'Pending',
      set: { assignment: null, retryAt, queuedAt: retryAt },
      condition: {
        type: 'Scheduled',
        status: 'False',
        reason: 'BackingOff',
        message: `attempt ${o.attempts} failed${last?.reason ? ` (${last.reason})` : ''}; retry ${failures} of ${o.retries.max} at ${rfc3339(retryAt)}`,
      },
      routable: false,
      requeueAfterMs: retryAt - o.now,
      event: { kind: 'retry', message: `retrying after failed attempt ${o.attempts} at ${rfc3339(retryAt)}` },
    };
  }

  // Waiting to be routed, or blocked on dependencies.
  if (o.phase === undefined || o.phase === 'Pending' || o.phase === 'Blocked') {
    const deps = o.dependencies;
    if (deps.state === 'failed' || deps.state === 'cycle') {
      return {
        phase: 'Failed',
        set: completed,
        condition: { type: 'Finished', status: 'True', reason: deps.reason, message: deps.message },
        routable: false,
        event: { kind: 'failed', message: deps.message },
      };
    }
    if (deps.state === 'waiting') {
      return stay('Blocked', {
        condition: { type: 'Scheduled', status: 'False', reason: deps.reason, message: deps.message },
        ...(o.phase !== 'Blocked' ? { event: { kind: 'blocked' as const, message: deps.message } } : {}),
      });
    }
    const queued = o.phase === 'Blocked' || o.phase === undefined ? { queuedAt: o.now } : {};
    if (o.retryAt !== undefined && o.retryAt > o.now) {
      return stay('Pending', { set: queued, requeueAfterMs: o.retryAt - o.now });
    }
    return {
      phase: 'Pending',
      set: { ...queued, ...(o.retryAt !== undefined ? { retryAt: null } : {}) },
      routable: true,
      ...(o.phase === 'Blocked' ? { event: { kind: 'unblocked' as const, message: 'all dependencies succeeded' } } : {}),
    };
  }

  // Assigned or Running: watch the agent and the clock.
  const a = o.assignment;
  // Assigned or Running without an assignment is not a state anyone writes; treat it as waiting.
  if (!a) return decideTask({ ...o, phase: 'Pending' });
  const agent = o.agent;
  const lostReason = !agent?.exists
    ? `agent ${a.agent} is gone`
    : !agent.healthy
      ? `agent ${a.agent} lost its heartbeat`
      : agent.leaving && o.phase === 'Assigned'
        ? `agent ${a.agent} is going away before it started the task`
        : o.phase === 'Running'
          ? earlierLife(a, o.startedAt, agent)
          : undefined;
  if (lostReason) {
    const retryAt = o.now + o.reassignDelayMs;
    return {
      phase: 'Pending',
      set: { assignment: null, retryAt, queuedAt: retryAt },
      append: { agent: a.agent, outcome: 'Lost', reason: lostReason, time: rfc3339(o.now) },
      condition: {
        type: 'Scheduled',
        status: 'False',
        reason: 'HandedBack',
        message: `attempt ${a.attempt} handed back: ${lostReason}; routed again from ${rfc3339(retryAt)}`,
      },
      routable: false,
      requeueAfterMs: Math.max(1, retryAt - o.now),
      event: { kind: 'handBack', message: lostReason },
    };
  }
  if (o.phase === 'Running' && o.startedAt !== undefined) {
    const deadline = o.startedAt + o.timeoutMs + o.timeoutGraceMs;
    if (o.now >= deadline) {
      // The runner kills a task at its timeout; this is the backstop for a runner that did not.
      return {
        phase: 'Failed',
        set: {},
        append: {
          agent: a.agent,
          outcome: 'TimedOut',
          reason: `no result ${Math.round(o.timeoutMs / 1000)}s after it started`,
          time: rfc3339(o.now),
        },
        routable: false,
        requeueAfterMs: 1,
        event: { kind: 'timeout', message: `attempt ${a.attempt} timed out` },
      };
    }
    return stay('Running', { requeueAfterMs: deadline - o.now });
  }
  return stay(o.phase);
}

const wholeSeconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * A Running attempt that belongs to an earlier life of its agent: the runner process that
 * claimed it is not the one heartbeating now, or the workload restarted after the claim.
 * Nothing will ever finish such an attempt, though the agent looks healthy. An Assigned
 * attempt is not judged here: nobody has started it, and the new runner claims it.
 * Times compare in whole seconds, the precision both are written with, so an attempt
 * claimed in the same second as a restart counts as claimed after it (never re-run).
 */
function earlierLife(
  a: NonNullable<TaskObservation['assignment']>,
  startedAt: number | undefined,
  agent: AssignedAgent,
): string | undefined {
  if (a.claimedBy !== undefined && agent.holder !== undefined && agent.holder !== a.claimedBy) {
    return `the runner of agent ${a.agent} restarted: attempt ${a.attempt} was claimed by ${a.claimedBy}, the agent's Lease is now held by ${agent.holder}`;
  }
  if (startedAt !== undefined && agent.workloadStartedAt !== undefined && wholeSeconds(agent.workloadStartedAt) > wholeSeconds(startedAt)) {
    return `the workload of agent ${a.agent} restarted at ${rfc3339(agent.workloadStartedAt)}, after attempt ${a.attempt} started at ${rfc3339(startedAt)}`;
  }
  return undefined;
}
