import type { Logger } from 'pino';
import { isConflict, messageOf } from '../operator/src/runtime/errors.ts';
import type { SharedInformer } from '../operator/src/runtime/cache/informer-group.ts';
import type { Clock } from '../operator/src/runtime/clock.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import { keyOf, type KubeObject } from '../operator/src/runtime/rest/object.ts';
import { objectPath } from '../operator/src/runtime/rest/resource.ts';
import { Tasks } from './resources.ts';
import { truncateOutput, type ExecutionResult, type Executor } from './executors/executor.ts';
import type { LeaseHold } from './heartbeat.ts';
import { attemptKey, type ProgressLines } from './progress.ts';
import type { Condition } from '../operator/src/api/common.ts';
import { setCondition } from '../operator/src/controllers/conditions.ts';
import { rfc3339 } from '../operator/src/core/timestamp.ts';
import { addAttempt, type TaskUsage } from '../operator/src/core/accounting.ts';

interface Assignment {
  agent: string;
  attempt: number;
  assignedAt?: string;
  claimedBy?: string;
}

interface HistoryEntry {
  agent: string;
  outcome: string;
  reason?: string;
  time: string;
}

/** What a write expects to find: the phase, and for a Running task, who claimed it. */
interface Expected {
  phase: 'Assigned' | 'Running';
  claimedBy?: string | undefined;
}

interface TaskStatus {
  phase?: string;
  assignment?: Assignment;
  attempts?: number;
  history?: HistoryEntry[];
  result?: { output?: string; exitCode?: number };
  usage?: TaskUsage;
  progress?: unknown;
  [field: string]: unknown;
}

type Task = KubeObject & {
  spec?: {
    input?: string;
    payload?: Record<string, unknown>;
    timeoutSeconds?: number;
    dependsOn?: string[];
    cancel?: boolean;
    requiredCapabilities?: string[];
  };
  status?: TaskStatus;
};

export interface TaskRunnerOptions {
  client: RestClient;
  tasks: SharedInformer<KubeObject>;
  agent: string;
  /** The heartbeat Lease: work is taken and given back only while this process holds it. */
  lease: LeaseHold;
  executor: Executor;
  /** Current maxConcurrentTasks of the Agent (it may change while running). */
  capacity: () => number;
  /** A result was written: the attempt is counted on the Agent (runner/outcomes.ts). */
  onFinished: (result: ExecutionResult, run: FinishedRun) => void;
  clock: Clock;
  logger: Logger;
  /** Lines the executor writes, copied into status.progress every intervalMs (none when unset). */
  progress?: { lines: ProgressLines; intervalMs: number } | undefined;
}

const HISTORY_LIMIT = 32;

/** One attempt this process ran to a result, as status.stats.recent keeps it. */
export interface FinishedRun {
  task: string;
  attempt: number;
  /** spec.requiredCapabilities, sorted, joined with commas. */
  capabilities: string;
  durationMs: number;
  /** RFC 3339 with milliseconds. */
  completedAt: string;
}

/**
 * Runs the Tasks assigned to this agent. A task is claimed (Assigned → Running, with
 * `assignment.claimedBy` naming this process) and its result written only while its
 * status still names this agent, the attempt and this process: every write carries the
 * resourceVersion it read, so a task handed to another agent meanwhile is never written
 * twice (the fence). Running attempts of this agent claimed by an earlier process (one
 * that crashed or was killed) are handed back to the queue: nothing will finish them.
 */
export class TaskRunner {
  private readonly o: TaskRunnerOptions;
  private readonly running = new Map<string, { attempt: number; abort: AbortController; done: Promise<void> }>();
  /** Tasks of an earlier process being handed back now. */
  private readonly recovering = new Set<string>();
  private readonly recoveries = new Set<Promise<void>>();
  /** Attempts (`<key>#<attempt>`) whose run failed on a write: their result is lost. */
  private readonly unwritten = new Set<string>();
  private accepting = true;
  private abandoned = false;

  constructor(options: TaskRunnerOptions) {
    this.o = options;
    options.tasks.addHandler({
      onAdd: () => {
        this.poke();
      },
      onUpdate: () => {
        this.stopLost();
        this.poke();
      },
      onDelete: () => {
        this.stopLost();
      },
      onResync: () => {
        this.poke();
      },
    });
  }

  /** Tasks running now. */
  active(): number {
    return this.running.size;
  }

  /**
   * Hands back what an earlier process left Running and looks for tasks to claim, while
   * this process holds the Lease. Safe to call any time; informer events call it.
   */
  poke(): void {
    if (!this.accepting || !this.o.lease.holds()) return;
    const mine = this.o.tasks
      .list()
      .filter((t) => (t as Task).status?.assignment?.agent === this.o.agent && !this.running.has(keyOf(t))) as Task[];
    // Running and not running here: claimed by an earlier process, or by this one when a
    // write of the attempt failed (the API server was down): nothing will finish either.
    const orphaned = mine.filter(
      (t) =>
        t.status?.phase === 'Running' &&
        (t.status.assignment?.claimedBy !== this.o.lease.identity || this.unwritten.has(`${keyOf(t)}#${t.status.assignment.attempt}`)) &&
        !this.recovering.has(keyOf(t)),
    );
    if (orphaned.length) this.track(this.handBackOrphans(orphaned));
    const waiting = mine
      .filter((t) => t.status?.phase === 'Assigned')
      .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
    for (const task of waiting) {
      if (this.running.size >= this.o.capacity()) break;
      this.start(task);
    }
  }

  /**
   * Stops taking tasks, lets running ones finish for `graceMs`, then cancels the rest and
   * hands them back to the queue.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.accepting = false;
    await Promise.all([...this.recoveries]);
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    const deadline = new AbortController();
    const finished = await Promise.race([all.then(() => true), this.o.clock.sleep(graceMs, deadline.signal).then(() => false)]);
    deadline.abort();
    if (!finished) {
      this.o.logger.warn({ running: this.running.size }, 'shutdown grace over: cancelling running tasks and handing them back');
      for (const r of this.running.values()) r.abort.abort();
      await all;
    }
  }

  /**
   * Another process holds the Lease: stop everything and write nothing more (the
   * successor hands the running attempts back).
   */
  abandon(): void {
    this.accepting = false;
    this.abandoned = true;
    for (const r of this.running.values()) r.abort.abort();
  }

  private start(task: Task): void {
    const key = keyOf(task);
    const attempt = task.status?.assignment?.attempt ?? 0;
    const abort = new AbortController();
    const done = this.run(task, attempt, abort.signal)
      .catch((err: unknown) => {
        this.unwritten.add(`${key}#${attempt}`);
        this.o.logger.error({ task: key, attempt, err: messageOf(err) }, 'task run failed');
      })
      .finally(() => {
        this.running.delete(key);
        this.poke();
      });
    this.running.set(key, { attempt, abort, done });
  }

  private async run(task: Task, attempt: number, signal: AbortSignal): Promise<void> {
    const identity = this.o.lease.identity;
    // The identity on each line: a new process may claim before it logs `runner ready`,
    // and a container's log holds every life of its runner.
    const log = this.o.logger.child({ task: keyOf(task), attempt, identity });
    const claimed = await this.write(task, attempt, { phase: 'Assigned' }, (s) => ({
      ...s,
      phase: 'Running',
      startedAt: this.stamp(),
      ...(s.assignment ? { assignment: { ...s.assignment, claimedBy: identity } } : {}),
    }));
    if (!claimed) {
      log.info('not claimed: the task moved on before this runner got to it');
      return;
    }
    log.info('running');
    const startedMs = this.o.clock.now();
    const key = attemptKey(task.metadata.namespace ?? '', task.metadata.name ?? '', attempt);
    const stopReporting = new AbortController();
    const reporting = this.reportProgress(claimed, attempt, key, stopReporting.signal);
    const dependencies = await this.dependencyResults(task);
    const result = await this.o.executor
      .execute(
        {
          namespace: task.metadata.namespace ?? '',
          name: task.metadata.name ?? '',
          attempt,
          ...(task.spec?.input !== undefined ? { input: task.spec.input } : {}),
          ...(task.spec?.payload !== undefined ? { payload: task.spec.payload } : {}),
          ...(dependencies ? { dependencies } : {}),
          timeoutSeconds: task.spec?.timeoutSeconds ?? 3600,
        },
        signal,
      )
      .finally(() => {
        stopReporting.abort();
      });
    // The last progress write lands before the result, so it never undoes it.
    await reporting;
    this.o.progress?.lines.forget(key);
    const endedMs = this.o.clock.now();
    const now = this.stamp();
    const handBack = result.outcome === 'Cancelled';
    // Every attempt's tokens count, a handed-back one's too: they were spent.
    const withUsage = (s: TaskStatus): TaskStatus => ({ ...s, usage: addAttempt(s.usage, result.usage, endedMs - startedMs) });
    const written = await this.write(claimed, attempt, { phase: 'Running', claimedBy: identity }, (s) => {
      if (handBack)
        return handedBack(withUsage(s), { agent: this.o.agent, outcome: 'Lost', reason: result.reason.slice(0, 1024), time: now });
      const { progress: _p, ...rest } = withUsage(s);
      return {
        ...rest,
        phase: result.outcome === 'Succeeded' ? 'Succeeded' : 'Failed',
        result: { output: truncateOutput(result.output), ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}) },
        history: withEntry(s.history, { agent: this.o.agent, outcome: result.outcome, reason: result.reason.slice(0, 1024), time: now }),
      };
    });
    if (!written) {
      log.warn({ outcome: result.outcome }, 'result dropped: the task was reassigned while it ran (fenced)');
      return;
    }
    log.info({ outcome: result.outcome, reason: result.reason }, handBack ? 'handed back' : 'finished');
    if (handBack) return;
    this.o.onFinished(result, {
      task: task.metadata.name ?? '',
      attempt,
      capabilities: [...(task.spec?.requiredCapabilities ?? [])].sort().join(','),
      durationMs: Math.max(0, Math.round(endedMs - startedMs)),
      completedAt: new Date(endedMs).toISOString(),
    });
  }

  /**
   * Copies the attempt's last lines into status.progress every interval while it runs, when
   * new ones came: one fenced write per interval at most, none for a quiet attempt.
   */
  private async reportProgress(task: Task, attempt: number, key: string, signal: AbortSignal): Promise<void> {
    const progress = this.o.progress;
    if (!progress) return;
    let version = 0;
    const stopped = (): boolean => signal.aborted;
    while (!stopped()) {
      await this.o.clock.sleep(progress.intervalMs, signal);
      const news = stopped() ? undefined : progress.lines.since(key, version);
      if (!news) continue;
      try {
        const written = await this.write(task, attempt, { phase: 'Running', claimedBy: this.o.lease.identity }, (s) => ({
          ...s,
          progress: { lines: news.lines, updatedAt: this.stamp() },
        }));
        if (!written) return;
        version = news.version;
      } catch (err) {
        this.o.logger.warn({ task: key, err: messageOf(err) }, 'could not write the progress; trying again at the next interval');
      }
    }
  }

  /**
   * Hands back Running attempts this process does not run: their runner died with them, or
   * (claimed by this process) their result write failed and the result is lost.
   * First the Lease is read from the API server: a process that was frozen and lost the
   * Lease meanwhile must not take its successor's attempts away.
   */
  private async handBackOrphans(tasks: Task[]): Promise<void> {
    const keys = tasks.map(keyOf);
    for (const key of keys) this.recovering.add(key);
    try {
      if (!(await this.o.lease.confirm())) {
        this.o.logger.warn('not handing back an earlier runner’s tasks: this process no longer holds the lease');
        return;
      }
      for (const task of tasks) {
        const s = task.status ?? {};
        const attempt = s.assignment?.attempt ?? 0;
        const claimedBy = s.assignment?.claimedBy;
        const reason =
          claimedBy === this.o.lease.identity
            ? `the result of attempt ${attempt} could not be written (the API server did not answer); ${claimedBy} hands it back`
            : `the runner restarted: attempt ${attempt} was claimed by ${claimedBy ?? 'an earlier runner process'}, this runner is ${this.o.lease.identity}`;
        const written = await this.write(task, attempt, { phase: 'Running', claimedBy }, (st) =>
          handedBack(st, { agent: this.o.agent, outcome: 'Lost', reason, time: this.stamp() }),
        );
        this.unwritten.delete(`${keyOf(task)}#${attempt}`);
        if (written) this.o.logger.info({ task: keyOf(task), attempt, claimedBy }, 'handed back an attempt of an earlier runner process');
      }
    } catch (err) {
      this.o.logger.warn({ err: messageOf(err) }, 'could not hand back an earlier runner’s tasks; retrying on the next event');
    } finally {
      for (const key of keys) this.recovering.delete(key);
    }
  }

  private track(work: Promise<void>): void {
    this.recoveries.add(work);
    void work.finally(() => this.recoveries.delete(work));
  }

  private stamp(): string {
    return rfc3339(this.o.clock.now());
  }

  /** The results of the tasks this one depends on (a workflow step reads its inputs). */
  private async dependencyResults(task: Task): Promise<Record<string, { output?: string; exitCode?: number }> | undefined> {
    const names = task.spec?.dependsOn ?? [];
    if (names.length === 0) return undefined;
    const entries = await Promise.all(
      names.map(async (name) => {
        const dep = await this.o.client.request<Task>('GET', objectPath(Tasks, task.metadata.namespace, name)).catch(() => undefined);
        return [name, dep?.status?.result ?? {}] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  /**
   * Stops a running attempt the runner no longer holds: the task was cancelled, deleted,
   * or reassigned (its agent was judged lost). Its result would be fenced out anyway.
   */
  private stopLost(): void {
    for (const [key, run] of this.running) {
      const task = this.o.tasks.get(key) as Task | undefined;
      const s = task?.status;
      const held =
        task &&
        !task.spec?.cancel &&
        s?.assignment?.agent === this.o.agent &&
        s.assignment.attempt === run.attempt &&
        (s.phase === 'Assigned' || (s.phase === 'Running' && s.assignment.claimedBy === this.o.lease.identity));
      if (!held && !run.abort.signal.aborted) {
        this.o.logger.info({ task: key, attempt: run.attempt }, 'stopping: the task was cancelled, deleted or reassigned');
        run.abort.abort();
      }
    }
  }

  /**
   * Writes the status `update` computes, if the task is still this agent's `attempt` in
   * the expected phase (and, Running, claimed by the expected process). Returns the
   * written task, or undefined when fenced out.
   */
  private async write(task: Task, attempt: number, expected: Expected, update: (s: TaskStatus) => TaskStatus): Promise<Task | undefined> {
    let current = task;
    const path = objectPath(Tasks, current.metadata.namespace, current.metadata.name ?? '');
    for (let tries = 0; tries < 10; tries++) {
      if (this.abandoned) return undefined;
      const s = current.status ?? {};
      if (s.phase !== expected.phase || s.assignment?.agent !== this.o.agent || s.assignment.attempt !== attempt) return undefined;
      if (expected.phase === 'Running' && s.assignment.claimedBy !== expected.claimedBy) return undefined;
      try {
        return await this.o.client.request<Task>('PUT', `${path}/status`, { body: { ...current, status: update(s) } });
      } catch (err) {
        if (!isConflict(err)) throw err;
        current = await this.o.client.request<Task>('GET', path);
      }
    }
    throw new Error(`task ${keyOf(task)}: status kept conflicting`);
  }
}

/**
 * Back to the queue with the attempt in history as Lost (not counted against retries);
 * the task controller assigns it again, with the next attempt.
 */
function handedBack(s: TaskStatus, entry: HistoryEntry): TaskStatus {
  const { assignment: _a, progress: _p, ...rest } = s;
  return {
    ...rest,
    phase: 'Pending',
    queuedAt: entry.time,
    history: withEntry(s.history, entry),
    conditions: setCondition(
      s.conditions as Condition[] | undefined,
      {
        type: 'Scheduled',
        status: 'False',
        reason: 'HandedBack',
        message: `handed back by agent ${entry.agent}: ${entry.reason ?? entry.outcome}`,
      },
      entry.time,
    ),
  };
}

const withEntry = (history: readonly HistoryEntry[] | undefined, entry: HistoryEntry): HistoryEntry[] =>
  [...(history ?? []), entry].slice(-HISTORY_LIMIT);
