import type { Logger } from 'pino';
import { taskKind } from '../../api/kinds.ts';
import type { TaskStatus } from '../../api/task.ts';
import { decideTask, isTerminal, type DependencyState, type TaskDecision } from '../../core/task-lifecycle.ts';
import { evaluateDependencies, type TaskNode } from '../../core/workflow.ts';
import type { SharedInformer } from '../../runtime/cache/informer-group.ts';
import type { Clock } from '../../runtime/clock.ts';
import type { ReconcileContext, ReconcileResult, Reconciler } from '../../runtime/controller.ts';
import type { EventRecorder } from '../../runtime/events.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { Leases, objectPath, resourceOfKind } from '../../runtime/rest/resource.ts';
import type { RestClient } from '../../runtime/rest/client.ts';
import { isNotFound } from '../../runtime/errors.ts';
import type { Writer } from '../../runtime/writer.ts';
import type { TaskMetrics } from './metrics.ts';
import type { Policies } from './policies.ts';
import { leaseHolder, workloadStartedAt } from './snapshot.ts';
import { statusAfter, type Pricing } from './status-after.ts';
import { costOf } from '../../core/accounting.ts';
import { agentSpec, agentStatus, conditionOf, taskSpec, taskStatus } from '../resources.ts';
import { TASKS_BY_NAMESPACE } from '../indexes.ts';

const Tasks = resourceOfKind(taskKind);
export const TASKS_BY_DEPENDENCY = 'dependency';

export interface TaskReconcilerDeps {
  tasks: SharedInformer<KubeObject>;
  agents: SharedInformer<KubeObject>;
  /** The agents' heartbeat Leases (`agent-<name>`): who holds one is the agent's runner process now. */
  leases: SharedInformer<KubeObject>;
  /** Reads a Lease from the API server when the cache may lag behind the Task. */
  client: RestClient;
  policies: Policies;
  writer: Writer;
  events: EventRecorder;
  metrics: TaskMetrics;
  clock: Clock;
  logger: Logger;
  reassignDelayMs: number;
  timeoutGraceMs: number;
  /** A task became routable or freed an agent: the router should look. */
  onRoutable: () => void;
}

/**
 * One task's life apart from routing: dependencies, attempts that end (retry with
 * backoff, or Failed for good), attempts whose agent went away (handed back), the
 * timeout backstop, cancellation. Gather from the caches, decide (core/task-lifecycle),
 * write the status.
 */
export class TaskReconciler implements Reconciler {
  private readonly d: TaskReconcilerDeps;
  private readonly finishedSeen = new Set<string>();

  constructor(deps: TaskReconcilerDeps) {
    this.d = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    const task = this.d.tasks.get(key);
    if (!task) {
      this.finishedSeen.delete(key);
      return undefined;
    }
    const namespace = task.metadata.namespace ?? '';
    const spec = taskSpec(task);
    const status = taskStatus(task);
    const policy = this.d.policies.for(namespace);
    const retries = {
      max: spec.retries?.max ?? policy.retries.max,
      backoffMs: (spec.retries?.backoffSeconds ?? policy.retries.backoffMs / 1000) * 1000,
    };
    const now = this.d.clock.now();
    const assignment = status.assignment
      ? {
          agent: status.assignment.agent,
          attempt: status.assignment.attempt,
          assignedAt: Date.parse(status.assignment.assignedAt),
          claimedBy: status.assignment.claimedBy,
        }
      : undefined;
    const agent = assignment ? this.d.agents.get(`${namespace}/${assignment.agent}`) : undefined;
    const holder =
      assignment && status.phase === 'Running'
        ? await this.leaseHolder(namespace, assignment.agent, assignment.claimedBy, ctx.signal)
        : undefined;
    const workloadStart = workloadStartedAt(agent);
    const decision = decideTask({
      now,
      phase: status.phase,
      cancel: spec.cancel === true,
      attempts: status.attempts ?? 0,
      assignment,
      startedAt: status.startedAt ? Date.parse(status.startedAt) : undefined,
      retryAt: status.retryAt ? Date.parse(status.retryAt) : undefined,
      completedAt: status.completedAt ? Date.parse(status.completedAt) : undefined,
      finished: conditionOf(task, 'Finished')?.status === 'True',
      history: status.history ?? [],
      timeoutMs: (spec.timeoutSeconds ?? 3600) * 1000,
      retries,
      reassignDelayMs: this.d.reassignDelayMs,
      timeoutGraceMs: this.d.timeoutGraceMs,
      dependencies: this.dependencies(task),
      agent: assignment
        ? {
            exists: agent !== undefined && agent.metadata.deletionTimestamp === undefined,
            healthy: conditionOf(agent, 'Healthy')?.status === 'True',
            leaving: isLeaving(agent),
            holder,
            workloadStartedAt: workloadStart ? Date.parse(workloadStart) : undefined,
          }
        : undefined,
    });

    // New tasks without dependencies are the router's: it writes their first status. One
    // with dependencies, all done already, is written Pending here: the router takes only
    // those (snapshot.ts routableAt), as it cannot judge dependencies.
    if (status.phase === undefined && decision.routable && (spec.dependsOn ?? []).length === 0) {
      this.d.onRoutable();
      return undefined;
    }
    await this.write(task, decision, now, ctx, policy.accounting);
    if (decision.routable || decision.event?.kind === 'handBack') this.d.onRoutable();
    if (decision.event) this.observe(task, decision, now, policy.accounting);
    return decision.requeueAfterMs !== undefined ? { requeueAfter: decision.requeueAfterMs } : undefined;
  }

  /**
   * Who holds the agent's heartbeat Lease. The Lease cache may lag behind the Task cache
   * (separate watches): a runner takes the Lease before it claims anything, so when the
   * cached holder is not the process that claimed the attempt, the API server is asked.
   * A released or missing Lease has no holder (the heartbeat check covers it).
   */
  private async leaseHolder(
    namespace: string,
    agent: string,
    claimedBy: string | undefined,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const cached = leaseHolder(this.d.leases.get(`${namespace}/agent-${agent}`));
    if (cached === undefined || claimedBy === undefined || cached === claimedBy) return cached;
    try {
      return leaseHolder(await this.d.client.request<KubeObject>('GET', objectPath(Leases, namespace, `agent-${agent}`), { signal }));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The task's dependencies, judged from the cache (and the namespace's policy for "failed for good"). */
  private dependencies(task: KubeObject): DependencyState {
    const names = taskSpec(task).dependsOn ?? [];
    if (names.length === 0) return { state: 'ready' };
    const namespace = task.metadata.namespace ?? '';
    const all = new Map<string, TaskNode>();
    for (const t of this.d.tasks.byIndex(TASKS_BY_NAMESPACE, namespace)) {
      const s = taskStatus(t);
      all.set(t.metadata.name ?? '', {
        name: t.metadata.name ?? '',
        dependsOn: taskSpec(t).dependsOn ?? [],
        phase: s.phase,
        terminal: isTerminal(s.phase, conditionOf(t, 'Finished')?.status === 'True') && s.phase !== 'Succeeded',
      });
    }
    const self = all.get(task.metadata.name ?? '');
    if (!self) return { state: 'ready' };
    const result = evaluateDependencies(self, all);
    return result.state === 'ready'
      ? { state: 'ready' }
      : { state: result.state === 'waiting' ? 'waiting' : result.state, reason: result.reason, message: result.message };
  }

  private async write(task: KubeObject, decision: TaskDecision, now: number, ctx: ReconcileContext, pricing: Pricing): Promise<void> {
    await this.d.writer.updateStatus<TaskStatus>(
      Tasks,
      { current: task, status: (fresh) => statusAfter(task, decision, fresh, now, pricing) },
      ctx.signal,
    );
  }

  /** The tokens and cost of a task that ended, counted once, when the operator records its end. */
  private countUsage(task: KubeObject, pricing: Pricing): void {
    const usage = taskStatus(task).usage;
    if (!usage) return;
    const namespace = task.metadata.namespace ?? '';
    const model = usage.model ?? '';
    const tokens = this.d.metrics.tokens;
    tokens.inc({ namespace, model, type: 'input' }, usage.inputTokens);
    tokens.inc({ namespace, model, type: 'output' }, usage.outputTokens);
    tokens.inc({ namespace, model, type: 'cached' }, usage.cachedTokens);
    const cost = costOf(usage, pricing.prices);
    if (cost !== undefined) this.d.metrics.cost.inc({ namespace, model, currency: pricing.currency }, cost);
  }

  private observe(task: KubeObject, decision: TaskDecision, now: number, pricing: Pricing): void {
    const event = decision.event;
    if (!event) return;
    const key = `${task.metadata.namespace ?? ''}/${task.metadata.name ?? ''}`;
    const warning = event.kind === 'failed' || event.kind === 'handBack' || event.kind === 'timeout';
    void this.d.events.record(task, warning ? 'Warning' : 'Normal', reasonOf(event.kind), 'Reconcile', event.message);
    if (event.kind === 'retry') this.d.metrics.retries.inc({ namespace: task.metadata.namespace ?? '' });
    const terminal = event.kind === 'failed' || event.kind === 'cancelled' || event.kind === 'succeeded';
    if (terminal && !this.finishedSeen.has(key)) {
      this.finishedSeen.add(key);
      const created = task.metadata.creationTimestamp ? Date.parse(task.metadata.creationTimestamp) : now;
      this.d.metrics.endToEndSeconds.observe({ outcome: decision.phase }, Math.max(0, now - created) / 1000);
      this.countUsage(task, pricing);
    }
  }
}

function isLeaving(agent: KubeObject | undefined): boolean {
  if (!agent) return true;
  const phase = agentStatus(agent).phase;
  const desired = agentSpec(agent).desiredState;
  return (
    agent.metadata.deletionTimestamp !== undefined ||
    desired === 'Sleeping' ||
    phase === 'Draining' ||
    phase === 'Terminating' ||
    phase === 'Sleeping'
  );
}

function reasonOf(kind: NonNullable<TaskDecision['event']>['kind']): string {
  switch (kind) {
    case 'retry':
      return 'Retrying';
    case 'handBack':
      return 'HandedBack';
    case 'timeout':
      return 'TimedOut';
    case 'failed':
      return 'Failed';
    case 'cancelled':
      return 'Cancelled';
    case 'blocked':
      return 'Blocked';
    case 'unblocked':
      return 'Unblocked';
    case 'succeeded':
      return 'Succeeded';
  }
}
