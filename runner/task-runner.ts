import type { Logger } from 'pino';
import { isConflict, messageOf } from '../operator/src/runtime/errors.ts';
import type { SharedInformer } from '../operator/src/runtime/cache/informer-group.ts';
import type { Clock } from '../operator/src/runtime/clock.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import { keyOf, type KubeObject } from '../operator/src/runtime/rest/object.ts';
import { objectPath } from '../operator/src/runtime/rest/resource.ts';
import { Tasks } from './resources.ts';
import { truncateOutput, type ExecutionResult, type Executor } from './executors/executor.ts';

interface Assignment {
  agent: string;
  attempt: number;
  assignedAt?: string;
}

interface TaskStatus {
  phase?: string;
  assignment?: Assignment;
  attempts?: number;
  history?: { agent: string; outcome: string; reason?: string; time: string }[];
  result?: { output?: string; exitCode?: number };
  [field: string]: unknown;
}

type Task = KubeObject & {
  spec?: { input?: string; payload?: Record<string, unknown>; timeoutSeconds?: number; dependsOn?: string[]; cancel?: boolean };
  status?: TaskStatus;
};

export interface TaskRunnerOptions {
  client: RestClient;
  tasks: SharedInformer<KubeObject>;
  agent: string;
  executor: Executor;
  /** Current maxConcurrentTasks of the Agent (it may change while running). */
  capacity: () => number;
  onFinished: (result: ExecutionResult) => void;
  clock: Clock;
  logger: Logger;
}

const HISTORY_LIMIT = 32;

/**
 * Runs the Tasks assigned to this agent. A task is claimed (Assigned → Running) and its
 * result written only while its status still names this agent and the attempt the
 * runner holds: every write carries the resourceVersion it read, so a task handed to
 * another agent meanwhile is never written twice (the fence).
 */
export class TaskRunner {
  private readonly o: TaskRunnerOptions;
  private readonly running = new Map<string, { attempt: number; abort: AbortController; done: Promise<void> }>();
  private accepting = true;

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

  /** Looks for tasks to claim. Safe to call any time; informer events call it. */
  poke(): void {
    if (!this.accepting) return;
    const waiting = this.o.tasks
      .list()
      .filter((t) => {
        const s = (t as Task).status;
        return s?.phase === 'Assigned' && s.assignment?.agent === this.o.agent && !this.running.has(keyOf(t));
      })
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

  private start(task: Task): void {
    const key = keyOf(task);
    const attempt = task.status?.assignment?.attempt ?? 0;
    const abort = new AbortController();
    const done = this.run(task, attempt, abort.signal)
      .catch((err: unknown) => {
        this.o.logger.error({ task: key, attempt, err: messageOf(err) }, 'task run failed');
      })
      .finally(() => {
        this.running.delete(key);
        this.poke();
      });
    this.running.set(key, { attempt, abort, done });
  }

  private async run(task: Task, attempt: number, signal: AbortSignal): Promise<void> {
    const log = this.o.logger.child({ task: keyOf(task), attempt });
    const claimed = await this.write(task, attempt, 'Assigned', (s) => ({ ...s, phase: 'Running', startedAt: this.stamp() }));
    if (!claimed) {
      log.info('not claimed: the task moved on before this runner got to it');
      return;
    }
    log.info('running');
    const dependencies = await this.dependencyResults(task);
    const result = await this.o.executor.execute(
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
    );
    const now = this.stamp();
    const handBack = result.outcome === 'Cancelled';
    const written = await this.write(claimed, attempt, 'Running', (s) => {
      const history = [
        ...(s.history ?? []),
        { agent: this.o.agent, outcome: handBack ? 'Lost' : result.outcome, reason: result.reason.slice(0, 1024), time: now },
      ].slice(-HISTORY_LIMIT);
      if (handBack) {
        // Back to the queue: the task controller assigns it again, with the next attempt.
        const { assignment: _a, ...rest } = s;
        return { ...rest, phase: 'Pending', history };
      }
      return {
        ...s,
        phase: result.outcome === 'Succeeded' ? 'Succeeded' : 'Failed',
        result: { output: truncateOutput(result.output), ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}) },
        history,
      };
    });
    if (!written) {
      log.warn({ outcome: result.outcome }, 'result dropped: the task was reassigned while it ran (fenced)');
      return;
    }
    log.info({ outcome: result.outcome, reason: result.reason }, handBack ? 'handed back' : 'finished');
    if (!handBack) this.o.onFinished(result);
  }

  private stamp(): string {
    return new Date(this.o.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
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
      const held = task && !task.spec?.cancel && s?.assignment?.agent === this.o.agent && s.assignment.attempt === run.attempt && (s.phase === 'Assigned' || s.phase === 'Running');
      if (!held && !run.abort.signal.aborted) {
        this.o.logger.info({ task: key, attempt: run.attempt }, 'stopping: the task was cancelled, deleted or reassigned');
        run.abort.abort();
      }
    }
  }

  /**
   * Writes the status `update` computes, if the task is still this agent's `attempt` in
   * phase `expected`. Returns the written task, or undefined when fenced out.
   */
  private async write(task: Task, attempt: number, expected: string, update: (s: TaskStatus) => TaskStatus): Promise<Task | undefined> {
    let current = task;
    const path = objectPath(Tasks, current.metadata.namespace, current.metadata.name ?? '');
    for (let tries = 0; tries < 10; tries++) {
      const s = current.status ?? {};
      if (s.phase !== expected || s.assignment?.agent !== this.o.agent || s.assignment.attempt !== attempt) return undefined;
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
