import type { Logger } from 'pino';
import { agentKind, taskKind } from '../../api/kinds.ts';
import { runCycle } from '../../framework/cycle.ts';
import type { AgentInfo, PendingStatus, Snapshot, TaskInfo } from '../../framework/types.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import { isAborted, type Clock } from '../../runtime/clock.ts';
import { isConflict, isNotFound, messageOf } from '../../runtime/errors.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import { keyOf, type KubeObject } from '../../runtime/rest/object.ts';
import { objectPath, resourceOfKind } from '../../runtime/rest/resource.ts';
import { rfc3339, setCondition } from '../conditions.ts';
import { guardOptions, type Plugins } from '../plugins/host.ts';
import type { GuardOptions } from '../../framework/guard.ts';
import type { Policies } from './policies.ts';
import { agentInfo, agentLoads, isRoutable, taskInfo } from './snapshot.ts';
import { taskStatus } from '../resources.ts';
import type { TaskMetrics } from './metrics.ts';

const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);
// An assumption the caches never confirmed is dropped after this.
const ASSUME_TTL_MS = 60_000;
// A waiting task's reason is written at once, then at most this often: in a busy fleet the
// counts move with every change of every agent, and rewriting a thousand waiting tasks
// each time would flood the API server.
const PENDING_REFRESH_MS = 10_000;
// At most so many "why it waits" writes per cycle; the rest wait for a later cycle.
const PENDING_WRITES_PER_CYCLE = 50;
const WAKE_AGAIN_MS = 30_000;
const TICK_MS = 1000;
// Bursts of events are batched into one cycle.
const BATCH_MS = 10;

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
}

interface Assumed {
  agent: string;
  attempt: number;
  at: number;
}

/**
 * Routing cycles: gather the waiting tasks and the agents from the caches, let the pure
 * router place them (framework/cycle.ts), then write. Assignments are assumed in memory
 * before they are written, so the next cycle neither re-routes the task nor overfills
 * the agent while the caches catch up; a failed write forgets the assumption. Runs only
 * on the leader.
 */
export class Router {
  private readonly d: RouterDeps;
  private readonly log: Logger;
  private readonly assumed = new Map<string, Assumed>();
  private readonly pendingWritten = new Map<string, { kinds: string; at: number }>();
  private readonly woken = new Map<string, number>();
  /**
   * Tasks whose write failed on a stale resourceVersion, with that version: they are left
   * alone until the cache shows a newer one (retrying on the same copy fails the same way).
   */
  private readonly stale = new Map<string, string | undefined>();
  private readonly writes = new Set<Promise<void>>();
  private dirty = true;
  private pendingBudget = 0;
  private wakeUp: (() => void) | undefined;
  private cycles = 0;
  private readonly guard: GuardOptions;

  constructor(deps: RouterDeps) {
    this.d = deps;
    this.log = deps.logger.child({ component: 'router' });
    this.guard = guardOptions(deps.plugins);
    const dirty = (): void => {
      this.markDirty();
    };
    deps.tasks.addHandler({ onAdd: dirty, onUpdate: dirty, onDelete: dirty });
    deps.agents.addHandler({ onAdd: dirty, onUpdate: dirty, onDelete: dirty });
  }

  markDirty(): void {
    this.dirty = true;
    this.wakeUp?.();
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!isAborted(signal)) {
      if (!this.dirty) await this.idle(signal);
      if (isAborted(signal)) break;
      await this.d.clock.sleep(BATCH_MS, signal);
      this.dirty = false;
      try {
        this.cycle();
      } catch (err) {
        this.log.error({ err: messageOf(err) }, 'routing cycle failed');
      }
      // Let events queued during the cycle arrive before deciding whether to go again.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await Promise.all([...this.writes]);
  }

  private idle(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        cancel();
        signal.removeEventListener('abort', done);
        this.wakeUp = undefined;
        resolve();
      };
      // Backoffs expire and waiting tasks age without any event: look every tick.
      const cancel = this.d.clock.setTimer(TICK_MS, done);
      this.wakeUp = done;
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private cycle(): void {
    const now = this.d.clock.now();
    const start = performance.now();
    const tasks = this.d.tasks.list();
    this.confirmAssumptions(now);
    const loads = agentLoads(tasks);
    const assumedPerAgent = new Map<string, number>();
    for (const [key, a] of this.assumed) {
      const ns = key.slice(0, key.indexOf('/'));
      const agentKey = `${ns}/${a.agent}`;
      assumedPerAgent.set(agentKey, (assumedPerAgent.get(agentKey) ?? 0) + 1);
    }
    const waiting = new Map<string, KubeObject[]>();
    for (const [key, rv] of this.stale) if (this.d.tasks.get(key)?.metadata.resourceVersion !== rv) this.stale.delete(key);
    for (const t of tasks) {
      if (this.assumed.has(keyOf(t)) || this.stale.has(keyOf(t)) || !isRoutable(t, now)) continue;
      const ns = t.metadata.namespace ?? '';
      waiting.set(ns, [...(waiting.get(ns) ?? []), t]);
    }
    if (waiting.size === 0) return;
    const agentsByNamespace = new Map<string, AgentInfo[]>();
    for (const a of this.d.agents.list()) {
      const key = keyOf(a);
      const info = agentInfo(a, loads.get(key), assumedPerAgent.get(key) ?? 0);
      agentsByNamespace.set(info.namespace, [...(agentsByNamespace.get(info.namespace) ?? []), info]);
    }
    let assigned = 0;
    this.pendingBudget = PENDING_WRITES_PER_CYCLE;
    for (const [namespace, objs] of waiting) {
      const byKey = new Map(objs.map((t) => [keyOf(t), t]));
      const snapshot: Snapshot = {
        now,
        tasks: objs.map(taskInfo),
        agents: agentsByNamespace.get(namespace) ?? [],
        seed: this.cycles++,
      };
      const health = this.d.plugins.health;
      const result = runCycle(snapshot, this.d.policies.for(namespace).profile, this.guard);
      for (const failure of result.failures) {
        if (health.failed(namespace, failure, now)) this.log.warn({ plugin: failure.plugin, point: failure.point, task: failure.task, err: failure.message }, 'routing plugin failed');
      }
      for (const { task, agent } of result.assignments) {
        const obj = byKey.get(task.key);
        if (!obj) continue;
        const attempt = (taskStatus(obj).attempts ?? 0) + 1;
        this.assumed.set(task.key, { agent: agent.name, attempt, at: now });
        this.track(this.assign(obj, task, agent, attempt));
        assigned++;
      }
      for (const pending of result.pending) {
        const obj = byKey.get(pending.task.key);
        if (obj) this.reportPending(obj, pending, now);
        if (pending.wake.length) this.wake(pending, now);
      }
    }
    this.d.metrics.cycleSeconds.observe((performance.now() - start) / 1000);
    if (assigned) this.log.debug({ assigned }, 'routing cycle');
  }

  private confirmAssumptions(now: number): void {
    for (const [key, a] of this.assumed) {
      const task = this.d.tasks.get(key);
      const attempt = task ? taskStatus(task).assignment?.attempt : undefined;
      const confirmed = !task || (attempt !== undefined && attempt >= a.attempt);
      if (confirmed || now - a.at > ASSUME_TTL_MS) this.assumed.delete(key);
    }
  }

  private track(write: Promise<void>): void {
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
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
    } catch (err) {
      this.assumed.delete(info.key);
      if (isConflict(err)) {
        // The watch brings the newer version (and another cycle) soon.
        this.stale.set(info.key, task.metadata.resourceVersion);
      } else {
        if (!isNotFound(err)) this.log.warn({ task: info.key, agent: agent.name, err: messageOf(err) }, 'assignment write failed');
        this.markDirty();
      }
    }
  }

  /** Says why a task waits, when the reasons changed (or the counts, at most every few seconds). */
  private reportPending(task: KubeObject, pending: PendingStatus, now: number): void {
    const status = taskStatus(task);
    const current = status.conditions?.find((c) => c.type === 'Scheduled');
    const kinds = Object.keys(pending.reasons).sort().join('|');
    const last = this.pendingWritten.get(pending.task.key);
    if (current?.message === pending.message && status.phase === 'Pending') return;
    // New kinds of reason (a veto, a capability gone) are written at once; moving counts wait.
    if (last && last.kinds === kinds && now - last.at < PENDING_REFRESH_MS) return;
    if (this.pendingBudget <= 0) return;
    this.pendingBudget--;
    this.pendingWritten.set(pending.task.key, { kinds, at: now });
    const { namespace, name = '' } = task.metadata;
    this.track(
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
            this.pendingWritten.delete(pending.task.key);
            if (isConflict(err)) this.stale.set(pending.task.key, task.metadata.resourceVersion);
            else if (!isNotFound(err)) this.log.warn({ task: pending.task.key, err: messageOf(err) }, 'could not report why a task waits');
          },
        ),
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
    this.track(
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
