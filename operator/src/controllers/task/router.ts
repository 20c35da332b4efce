import type { Logger } from 'pino';
import { agentKind, taskKind } from '../../api/kinds.ts';
import { AgentCache, type AgentFacts } from '../../framework/agent-cache.ts';
import { routeQueue, type CycleOptions, type Queue } from '../../framework/cycle.ts';
import { TaskQueue, type QueueSizes } from '../../framework/task-queue.ts';
import type { AgentInfo, CycleResult, PendingStatus, TaskInfo } from '../../framework/types.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import { isAborted, type Clock } from '../../runtime/clock.ts';
import { isConflict, isNotFound, messageOf } from '../../runtime/errors.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import { keyOf, type KubeObject } from '../../runtime/rest/object.ts';
import { objectPath, resourceOfKind } from '../../runtime/rest/resource.ts';
import { rfc3339, setCondition } from '../conditions.ts';
import { guardOptions, type Plugins } from '../plugins/host.ts';
import type { Policies } from './policies.ts';
import { agentFacts, holdingOf, routableAt, taskInfo } from './snapshot.ts';
import { WritePool } from './write-pool.ts';
import { byUrgency, reportNeed, type ReportNeed, type Written } from './pending-reports.ts';
import { taskStatus } from '../resources.ts';
import type { TaskMetrics } from './metrics.ts';

const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);
// An assignment written but never seen in the cache is dropped this long after the API
// server answered (never while the write still waits for a token or an answer).
const ASSUME_TTL_MS = 60_000;
// A waiting task's reason is written at once, then at most this often: in a busy fleet the
// counts move with every change of every agent, and rewriting a thousand waiting tasks
// each time would flood the API server.
const PENDING_REFRESH_MS = 10_000;
// At most so many "why it waits" writes outstanding, a token wait included; the rest wait
// for a later cycle. A bound per cycle instead queued writes behind the reporting budget
// (20/s) faster than it drains: minutes late, on resourceVersions long gone (409s).
const PENDING_WRITES_IN_FLIGHT = 50;
const WAKE_AGAIN_MS = 30_000;
// Backoffs end and assumptions expire without an event: look every tick.
const TICK_MS = 1000;
// Parked tasks get another look this often: plugins may decide by time or by a policy
// change no agent or task event announces.
const PARKED_FLUSH_MS = 5000;
// A slot freed on an agent wakes so many parked tasks beyond one per slot: the first
// may not fit for other reasons, and the rest wait for the flush instead of a herd.
const WAKE_SLACK = 4;
// Assignment writes in flight at once; the client's rate limiter paces them further. A
// busy API server answers a write in 100-300 ms, so it takes this many in flight to reach
// its ceiling (about 500 writes/s on a 2-core machine; 32 held the router to 55% of it).
const WRITE_CONCURRENCY = 128;

export interface RouterDeps {
  client: RestClient;
  /** Writes why a task waits: best effort, on its own budget. */
  reportingClient: RestClient;
  tasks: SharedInformer<KubeObject>;
  agents: SharedInformer<KubeObject>;
  policies: Policies;
  plugins: Plugins;
  events: EventRecorder;
  metrics: TaskMetrics;
  clock: Clock;
  logger: Logger;
  /** In a large namespace, a task is placed among the first so many feasible agents (0: all). */
  feasibleAgentsToFind?: number;
}

/** A waiting task's report, due in this cycle. */
interface Report {
  task: KubeObject;
  pending: PendingStatus;
  kinds: string;
  need: ReportNeed;
}

interface Assumed {
  agent: string;
  attempt: number;
  /** When the API server accepted the write; until then the assumption cannot expire. */
  answeredAt?: number;
}

/**
 * Routing, in the manner of kube-scheduler: a cache of the agents and their loads and a
 * queue of waiting tasks, both kept from informer events; a cycle routes only the active
 * tasks over prebuilt indexes (framework/cycle.ts), then the assignments are written,
 * several at once. Assignments are assumed before they are written, so the next cycle
 * neither re-routes the task nor overfills the agent while the caches catch up; a failed
 * write forgets the assumption. Cycles run only on the leader; the cache is kept on
 * every replica, so a new leader routes at once.
 */
export class Router {
  private readonly d: RouterDeps;
  private readonly log: Logger;
  private readonly cache = new AgentCache();
  private readonly queue = new TaskQueue();
  private readonly assumed = new Map<string, Assumed>();
  private readonly pendingWritten = new Map<string, Written>();
  /** Tasks whose "why it waits" write is outstanding. */
  private readonly reporting = new Set<string>();
  private readonly woken = new Map<string, number>();
  private readonly writes = new WritePool(WRITE_CONCURRENCY);
  private readonly options: CycleOptions;
  private dirty = true;
  private wakeUp: (() => void) | undefined;
  private cycles = 0;
  private lastFlush = 0;

  constructor(deps: RouterDeps) {
    this.d = deps;
    this.log = deps.logger.child({ component: 'router' });
    this.options = {
      ...guardOptions(deps.plugins),
      ...(deps.feasibleAgentsToFind !== undefined ? { feasibleAgentsToFind: deps.feasibleAgentsToFind } : {}),
    };
    deps.tasks.addHandler({
      onAdd: (t) => {
        this.onTask(keyOf(t), t);
      },
      onUpdate: (_old, t) => {
        this.onTask(keyOf(t), t);
      },
      onDelete: (t) => {
        this.onTask(keyOf(t), undefined);
      },
    });
    deps.agents.addHandler({
      onAdd: (a) => {
        this.onAgent(a, agentFacts(a));
      },
      onUpdate: (_old, a) => {
        this.onAgent(a, agentFacts(a));
      },
      onDelete: (a) => {
        this.onAgent(a, undefined);
      },
    });
  }

  markDirty(): void {
    this.dirty = true;
    this.wakeUp?.();
  }

  /** Queue sizes, for metrics and tests. */
  get sizes(): QueueSizes & { assumed: number } {
    return { ...this.queue.sizes, assumed: this.assumed.size };
  }

  async run(signal: AbortSignal): Promise<void> {
    this.lastFlush = this.d.clock.now();
    // Whatever a previous term parked is looked at again by this one.
    this.queue.flush();
    while (!isAborted(signal)) {
      if (!this.dirty) await this.idle(signal);
      if (isAborted(signal)) break;
      // Events that arrived together (one watch chunk, a burst of creates) go into one
      // cycle: let the I/O callbacks already queued run first.
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.dirty = false;
      try {
        this.cycle();
      } catch (err) {
        this.log.error({ err: messageOf(err) }, 'routing cycle failed');
      }
    }
    await this.writes.drain();
  }

  private idle(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        cancel();
        signal.removeEventListener('abort', done);
        this.wakeUp = undefined;
        resolve();
      };
      const cancel = this.d.clock.setTimer(TICK_MS, done);
      this.wakeUp = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** A task changed: its place in the queue, its agent's load, its assumption. */
  private onTask(key: string, task: KubeObject | undefined): void {
    const freed = this.cache.setHolding(key, task ? holdingOf(task) : undefined);
    if (freed !== undefined) this.slotFreed(freed);
    const assumed = this.assumed.get(key);
    if (assumed !== undefined) {
      const attempt = task ? taskStatus(task).assignment?.attempt : undefined;
      if (task && (attempt === undefined || attempt < assumed.attempt)) {
        // Not there yet: the write is in flight or the cache is behind.
        this.queue.remove(key);
        return;
      }
      this.assumed.delete(key);
      this.cache.forget(key);
    }
    this.requeue(key, task);
  }

  /** Puts a task where its own object says it belongs in the queue. */
  private requeue(key: string, task: KubeObject | undefined): void {
    const at = task ? routableAt(task) : undefined;
    if (task === undefined || at === undefined) {
      this.queue.remove(key);
      this.pendingWritten.delete(key);
      return;
    }
    this.queue.set(key, taskInfo(task), at);
    this.markDirty();
  }

  private onAgent(agent: KubeObject, facts: AgentFacts | undefined): void {
    const key = keyOf(agent);
    if (!this.cache.setAgent(key, facts)) return;
    const capabilities = facts?.capabilities;
    const woken = this.queue.wake(
      agent.metadata.namespace ?? '',
      (t) => capabilities === undefined || t.required.every((c) => capabilities.has(c)),
    );
    if (woken) this.markDirty();
  }

  /** A slot came free on `agentKey`: a few parked tasks it could run get another look. */
  private slotFreed(agentKey: string): void {
    const agent = this.cache.get(agentKey);
    if (agent === undefined) return;
    const woken = this.queue.wake(agent.namespace, (t) => t.required.every((c) => agent.capabilities.has(c)), 1 + WAKE_SLACK);
    if (woken) this.markDirty();
  }

  private tick(now: number): void {
    this.queue.due(now);
    for (const [key, a] of this.assumed) {
      if (a.answeredAt === undefined || now - a.answeredAt <= ASSUME_TTL_MS) continue;
      this.log.warn(
        { task: key, agent: a.agent, attempt: a.attempt },
        'an accepted assignment never reached the cache; routing the task again',
      );
      this.assumed.delete(key);
      this.cache.forget(key);
      this.requeue(key, this.d.tasks.get(key));
    }
    if (now - this.lastFlush >= PARKED_FLUSH_MS) {
      this.lastFlush = now;
      this.queue.flush();
    }
  }

  private cycle(): void {
    const now = this.d.clock.now();
    this.tick(now);
    const waiting = this.queue.takeActive();
    if (waiting.length === 0) return;
    const start = performance.now();
    const byNamespace = new Map<string, TaskInfo[]>();
    for (const task of waiting) {
      const list = byNamespace.get(task.namespace);
      if (list) list.push(task);
      else byNamespace.set(task.namespace, [task]);
    }
    let assigned = 0;
    const reports: Report[] = [];
    const health = this.d.plugins.health;
    for (const [namespace, tasks] of byNamespace) {
      const queue: Queue = { now, seed: this.cycles++, tasks, index: (ns) => this.cache.index(ns) };
      let result: CycleResult;
      try {
        result = routeQueue(queue, this.d.policies.for(namespace).profile, this.options);
      } catch (err) {
        // Not a plugin (those are guarded): a bug here. The tasks wait for the next flush.
        this.log.error({ namespace, err: messageOf(err) }, 'routing cycle failed');
        for (const task of tasks) this.queue.park(task);
        continue;
      }
      for (const failure of result.failures) {
        if (health.failed(namespace, failure, now))
          this.log.warn(
            { plugin: failure.plugin, point: failure.point, task: failure.task, err: failure.message },
            'routing plugin failed',
          );
      }
      for (const { task, agent } of result.assignments) {
        const obj = this.d.tasks.get(task.key);
        if (!obj) continue;
        const attempt = (taskStatus(obj).attempts ?? 0) + 1;
        this.assumed.set(task.key, { agent: agent.name, attempt });
        this.cache.assume(task.key, agent.key);
        this.queue.remove(task.key);
        this.writes.run(() => this.assign(obj, task, agent, attempt));
        assigned++;
      }
      for (const pending of result.pending) {
        this.queue.park(pending.task);
        const obj = this.d.tasks.get(pending.task.key);
        const report = obj ? this.reportOf(obj, pending, now) : undefined;
        if (report) reports.push(report);
        if (pending.wake.length) this.wake(pending, now);
      }
    }
    // The most urgent first, over the whole queue: first reports before moved counts.
    reports.sort((a, b) => byUrgency(a.need, b.need));
    for (const report of reports) {
      if (this.reporting.size >= PENDING_WRITES_IN_FLIGHT) break;
      this.reportPending(report, now);
    }
    this.d.metrics.cycleSeconds.observe((performance.now() - start) / 1000);
    if (assigned) this.log.debug({ assigned, waiting: waiting.length }, 'routing cycle');
  }

  /**
   * One status PATCH carries the whole assignment, on the resourceVersion it was computed
   * from: if anything moved since the snapshot, the write fails and the next cycle
   * decides again. The runner finds the task by the assignment itself (a field selector).
   */
  private async assign(task: KubeObject, info: TaskInfo, agent: AgentInfo, attempt: number): Promise<void> {
    const { namespace, name = '' } = task.metadata;
    try {
      const now = this.d.clock.now();
      const status = taskStatus(task);
      await this.d.client.request('PATCH', `${objectPath(Tasks, namespace, name)}/status`, {
        contentType: 'application/merge-patch+json',
        body: {
          metadata: { resourceVersion: task.metadata.resourceVersion },
          status: {
            phase: 'Assigned',
            // A merge patch merges objects: an earlier attempt's claim must not survive.
            assignment: { agent: agent.name, attempt, assignedAt: rfc3339(now), claimedBy: null },
            attempts: attempt,
            retryAt: null,
            ...(task.metadata.generation !== undefined ? { observedGeneration: task.metadata.generation } : {}),
            queuedAt: status.queuedAt ?? task.metadata.creationTimestamp,
            conditions: setCondition(
              status.conditions,
              { type: 'Scheduled', status: 'True', reason: 'Assigned', message: `assigned to ${agent.name} (attempt ${attempt})` },
              rfc3339(now),
            ),
          },
        },
      });
      this.d.metrics.assignmentSeconds.observe({ namespace: namespace ?? '' }, Math.max(0, now - info.queuedAt) / 1000);
      this.pendingWritten.delete(info.key);
      const assumed = this.assumed.get(info.key);
      if (assumed?.attempt === attempt) assumed.answeredAt = this.d.clock.now();
    } catch (err) {
      if (this.assumed.get(info.key)?.attempt === attempt) {
        this.assumed.delete(info.key);
        this.cache.forget(info.key);
      }
      const current = this.d.tasks.get(info.key);
      if (isConflict(err) && current?.metadata.resourceVersion === task.metadata.resourceVersion) {
        // The watch brings the newer version, and with it the task back to the queue.
        this.queue.remove(info.key);
        return;
      }
      if (!isConflict(err) && !isNotFound(err))
        this.log.warn({ task: info.key, agent: agent.name, err: messageOf(err) }, 'assignment write failed');
      this.requeue(info.key, current);
    }
  }

  /** The report a waiting task is due, if any: when the reasons changed (or the counts, at most every few seconds). */
  private reportOf(task: KubeObject, pending: PendingStatus, now: number): Report | undefined {
    if (this.reporting.has(pending.task.key)) return undefined;
    const status = taskStatus(task);
    const current = status.conditions?.find((c) => c.type === 'Scheduled');
    const kinds = Object.keys(pending.reasons).sort().join('|');
    const need = reportNeed(
      { phase: status.phase, message: current?.message },
      { message: pending.message, kinds },
      this.pendingWritten.get(pending.task.key),
      now,
      PENDING_REFRESH_MS,
    );
    return need && { task, pending, kinds, need };
  }

  /** Says why a task waits. */
  private reportPending({ task, pending, kinds }: Report, now: number): void {
    const status = taskStatus(task);
    const key = pending.task.key;
    this.pendingWritten.set(key, { kinds, at: now });
    this.reporting.add(key);
    const { namespace, name = '' } = task.metadata;
    this.writes.track(
      this.d.reportingClient
        .request('PATCH', `${objectPath(Tasks, namespace, name)}/status`, {
          contentType: 'application/merge-patch+json',
          body: {
            metadata: { resourceVersion: task.metadata.resourceVersion },
            status: {
              phase: 'Pending',
              queuedAt: status.queuedAt ?? task.metadata.creationTimestamp,
              ...(task.metadata.generation !== undefined ? { observedGeneration: task.metadata.generation } : {}),
              conditions: setCondition(
                status.conditions,
                { type: 'Scheduled', status: 'False', reason: 'Unschedulable', message: pending.message },
                rfc3339(now),
              ),
            },
          },
        })
        .then(
          () => undefined,
          (err: unknown) => {
            this.pendingWritten.delete(key);
            if (!isConflict(err) && !isNotFound(err))
              this.log.warn({ task: key, err: messageOf(err) }, 'could not report why a task waits');
          },
        )
        .finally(() => this.reporting.delete(key)),
    );
  }

  /** A task only a sleeping agent can serve wakes one (spec.desiredState: Active). */
  private wake(pending: PendingStatus, now: number): void {
    const key = [...pending.wake].sort()[0];
    if (!key) return;
    const last = this.woken.get(key);
    if (last !== undefined && now - last < WAKE_AGAIN_MS) return;
    this.woken.set(key, now);
    const agent = this.d.agents.get(key);
    if (!agent) return;
    const { namespace, name = '' } = agent.metadata;
    this.writes.track(
      this.d.client
        .request('PATCH', objectPath(Agents, namespace, name), {
          body: { spec: { desiredState: 'Active' } },
          contentType: 'application/merge-patch+json',
        })
        .then(
          () => this.d.events.record(agent, 'Normal', 'WokenUp', 'Wake', `woken for task ${pending.task.name}, which only it can run`),
          (err: unknown) => {
            this.log.warn({ agent: key, err: messageOf(err) }, 'could not wake an agent');
          },
        ),
    );
  }
}
