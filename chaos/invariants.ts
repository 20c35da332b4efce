// The promises make chaos checks, as pure functions of what the run recorded: the final
// Tasks, the phases a watch saw them pass through, the journal the workers wrote (the
// ground truth of which write the API server accepted from which attempt), the
// workloads left over, and the recovery time of each fault. No I/O, no clock.

/** A status write a worker made for an attempt, and whether the API server took it. */
export interface JournalWrite {
  task: string;
  attempt: number;
  /** The runner process (its Lease identity) that wrote. */
  runner: string;
  kind: 'claim' | 'result' | 'handback';
  accepted: boolean;
  /** When the answer came back (ms since the epoch, this host's clock). */
  at: number;
  /** A result's phase (Succeeded or Failed). */
  phase?: string;
}

/** One run of a task's work by a worker: from the accepted claim to the end of its work. */
export interface Execution {
  task: string;
  attempt: number;
  runner: string;
  start: number;
  /** Undefined when the worker died with it. */
  end?: number | undefined;
}

export interface FinalTask {
  name: string;
  phase: string | undefined;
  /** status.assignment at the end: the attempt that holds the result. */
  attempt: number | undefined;
  claimedBy: string | undefined;
  /** The attempt status.result.output names (the workers write `attempt N`), if it names one. */
  resultAttempt: number | undefined;
}

/** Pods and containers left at the end, each with the Agent it belongs to. */
export interface Workload {
  kind: 'Pod' | 'Container';
  name: string;
  agent: string;
}

export interface FaultRecord {
  kind: string;
  at: number;
  /** Milliseconds from the fault to recovery; undefined when it never recovered within its deadline. */
  recoveredMs: number | undefined;
}

export interface Verdict {
  invariant: string;
  checked: number;
  violations: string[];
}

/**
 * Final phases. A failed attempt that will be retried shows `Failed` for a moment too:
 * callers name that one FAILED_ATTEMPT (Failed without the condition Finished=True).
 */
export const TERMINAL = ['Succeeded', 'Failed', 'Cancelled'] as const;
export const FAILED_ATTEMPT = 'Failed (to be retried)';

/** The phase as these checks read it: Failed is final only with Finished=True. */
export function finalPhase(
  phase: string | undefined,
  conditions: readonly { type: string; status: string }[] | undefined,
): string | undefined {
  if (phase !== 'Failed') return phase;
  return conditions?.some((c) => c.type === 'Finished' && c.status === 'True') ? phase : FAILED_ATTEMPT;
}
const isTerminal = (phase: string | undefined): boolean => (TERMINAL as readonly (string | undefined)[]).includes(phase);

function byTask<T extends { task: string }>(items: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const i of items) m.set(i.task, [...(m.get(i.task) ?? []), i]);
  return m;
}

/**
 * Every task ends in one terminal phase and stays there: final phase terminal; once a watch
 * saw it terminal it saw no other phase after; at most one result write accepted.
 */
export function exactlyOneTerminal(
  tasks: readonly FinalTask[],
  observed: ReadonlyMap<string, readonly string[]>,
  journal: readonly JournalWrite[],
): Verdict {
  const violations: string[] = [];
  // A failed attempt's result is followed by a retry: only successes and final failures count.
  const final = new Map(tasks.map((t) => [t.name, t]));
  const results = byTask(
    journal.filter((w) => w.kind === 'result' && w.accepted && (w.phase !== 'Failed' || w.attempt === final.get(w.task)?.attempt)),
  );
  for (const t of tasks) {
    if (!isTerminal(t.phase)) violations.push(`${t.name}: ended ${t.phase ?? 'without a phase'}, not terminal`);
    const seen = observed.get(t.name) ?? [];
    const first = seen.findIndex(isTerminal);
    if (first >= 0) {
      const after = seen.slice(first + 1).filter((p) => p !== seen[first]);
      if (after.length > 0) violations.push(`${t.name}: ${seen[first] ?? ''}, then ${after.join(' -> ')}`);
    }
    const accepted = results.get(t.name) ?? [];
    if (accepted.length > 1)
      violations.push(
        `${t.name}: ${accepted.length} results accepted (${accepted.map((w) => `attempt ${w.attempt} by ${w.runner}`).join(', ')})`,
      );
  }
  return { invariant: 'every task reached exactly one terminal phase', checked: tasks.length, violations };
}

/**
 * No two attempts of a task held it at once. An attempt holds its task from its accepted
 * claim to its last accepted write (its result or hand-back); those spans must not
 * overlap, and a claim must never be accepted for an attempt older than one already
 * claimed. A worker cut off from the API server may keep computing after its attempt was
 * handed back: that costs work (at least once), and only a write accepted from it would be
 * an overlap.
 */
export function noOverlappingAttempts(journal: readonly JournalWrite[]): Verdict {
  const violations: string[] = [];
  const tasks = byTask(journal.filter((w) => w.accepted));
  let checked = 0;
  for (const [task, unordered] of tasks) {
    const writes = [...unordered].sort((a, b) => a.at - b.at);
    const spans = new Map<number, { start: number; end: number; runner: string }>();
    for (const w of writes) {
      const s = spans.get(w.attempt);
      if (w.kind === 'claim' && (s === undefined || w.at < s.start))
        spans.set(w.attempt, { start: w.at, end: Math.max(w.at, s?.end ?? w.at), runner: w.runner });
      else if (s) s.end = Math.max(s.end, w.at);
    }
    // A write accepted for an attempt whose claim the journal lacks (a worker whose log was
    // lost) has no start to check against: it is judged by the fence invariant.
    const ordered = [...spans.entries()].sort((a, b) => a[1].start - b[1].start);
    if (ordered.length === 0) continue;
    checked++;
    for (let i = 1; i < ordered.length; i++) {
      const [pa, prev] = ordered[i - 1] as [number, { start: number; end: number; runner: string }];
      const [na, next] = ordered[i] as [number, { start: number; end: number; runner: string }];
      if (na < pa) violations.push(`${task}: attempt ${na} claimed at ${next.start} after attempt ${pa} at ${prev.start}`);
      if (next.start < prev.end)
        violations.push(
          `${task}: attempt ${na} (${next.runner}) claimed at ${next.start} while attempt ${pa} (${prev.runner}) still wrote until ${prev.end}`,
        );
    }
  }
  return { invariant: 'no two attempts of a task overlapped', checked, violations };
}

/**
 * No result from a fenced-out attempt: every accepted result write is the attempt and the
 * runner the final status names, with the phase it ends in, and the result's output names
 * that attempt.
 */
export function noFencedOutResult(tasks: readonly FinalTask[], journal: readonly JournalWrite[]): Verdict {
  const violations: string[] = [];
  const final = new Map(tasks.map((t) => [t.name, t]));
  let checked = 0;
  for (const w of journal) {
    if (w.kind !== 'result' || !w.accepted) continue;
    checked++;
    const t = final.get(w.task);
    if (!t) {
      violations.push(`${w.task}: a result of attempt ${w.attempt} was accepted for a task that is gone`);
      continue;
    }
    // A failed attempt retried since: its write was the attempt's own; the overlap check judges when it landed.
    if (w.phase === 'Failed' && t.attempt !== undefined && w.attempt < t.attempt) continue;
    if (t.attempt !== w.attempt || t.claimedBy !== w.runner)
      violations.push(
        `${w.task}: result of attempt ${w.attempt} by ${w.runner} accepted, but the task ends with attempt ${String(t.attempt)} claimed by ${String(t.claimedBy)}`,
      );
    else if (w.phase !== undefined && t.phase !== w.phase)
      violations.push(`${w.task}: result ${w.phase} accepted, but the task ends ${String(t.phase)}`);
  }
  for (const t of tasks) {
    if (t.resultAttempt === undefined) continue;
    checked++;
    if (t.resultAttempt !== t.attempt)
      violations.push(`${t.name}: the result is attempt ${t.resultAttempt}'s, the status names attempt ${String(t.attempt)}`);
  }
  return { invariant: 'no result written by a fenced-out attempt', checked, violations };
}

/** No Pod or container outlives its Agent: `left` after the deletes settled, `agents` the ones that exist. */
export function noOrphanWorkloads(left: readonly Workload[], agents: ReadonlySet<string>, deleted: readonly string[]): Verdict {
  const violations = left
    .filter((w) => !agents.has(w.agent))
    .map((w) => `${w.kind} ${w.name} of agent ${w.agent}${deleted.includes(w.agent) ? ' (deleted by the run)' : ''} is still there`);
  return { invariant: 'no orphan Pod or container after its Agent is gone', checked: left.length + deleted.length, violations };
}

/** Each fault was recovered from within its deadline. */
export function everyFaultRecovered(faults: readonly FaultRecord[]): Verdict {
  const violations = faults
    .filter((f) => f.recoveredMs === undefined)
    .map((f) => `${f.kind} at ${new Date(f.at).toISOString()}: no recovery within its deadline`);
  return { invariant: 'every fault recovered', checked: faults.length, violations };
}

export interface RecoveryRow {
  fault: string;
  count: number;
  p50Ms: number | undefined;
  maxMs: number | undefined;
}

/** Recovery p50 and max per fault kind, kinds in first-seen order. */
export function recoveryTable(faults: readonly FaultRecord[]): RecoveryRow[] {
  const kinds = [...new Set(faults.map((f) => f.kind))];
  return kinds.map((kind) => {
    const all = faults.filter((f) => f.kind === kind);
    const times = all.map((f) => f.recoveredMs).filter((t): t is number => t !== undefined);
    times.sort((a, b) => a - b);
    return {
      fault: kind,
      count: all.length,
      p50Ms: times.length ? times[Math.ceil(times.length / 2) - 1] : undefined,
      maxMs: times.length ? times[times.length - 1] : undefined,
    };
  });
}

/**
 * Executions that went on while another attempt held their task: the cost of a cut-off
 * worker (the work is done again), reported, not a violation.
 */
export function staleExecutions(executions: readonly Execution[], journal: readonly JournalWrite[]): number {
  const claims = journal.filter((w) => w.kind === 'claim' && w.accepted);
  return executions.filter((e) => claims.some((c) => c.task === e.task && c.attempt > e.attempt && c.at < (e.end ?? Infinity))).length;
}
