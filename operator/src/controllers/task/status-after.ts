import type { TaskStatus } from '../../api/task.ts';
import { stillDecidable, type TaskDecision } from '../../core/task-lifecycle.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';
import { rfc3339, setCondition } from '../conditions.ts';
import { taskStatus } from '../resources.ts';
import { costOf, type Price } from '../../core/accounting.ts';

/** status.history[].reason's bound in the schema. */
const HISTORY_REASON_MAX = 1024;

/**
 * A reason may quote what others wrote (a Lease holder identity, which the runner sets and
 * the API server does not bound): past the schema's bound, the whole status write would be
 * refused and the task could not move on.
 */
function withShortReason<H extends { reason?: string | undefined }>(entry: H): H {
  const reason = entry.reason;
  return reason === undefined || reason.length <= HISTORY_REASON_MAX
    ? entry
    : { ...entry, reason: `${reason.slice(0, HISTORY_REASON_MAX - 1)}…` };
}

export interface Pricing {
  readonly currency: string;
  readonly prices: readonly Price[];
}

/**
 * The status a decision made on `decidedOn` writes onto `fresh`: the same copy, or a newer
 * one read after a write conflict. Undefined when the decision no longer applies to the
 * newer copy (a runner or the router wrote meanwhile): the next reconcile decides again.
 */
export function statusAfter(
  decidedOn: KubeObject,
  decision: TaskDecision,
  fresh: KubeObject,
  now: number,
  pricing?: Pricing,
): TaskStatus | undefined {
  const current = taskStatus(fresh);
  if (fresh.metadata.resourceVersion !== decidedOn.metadata.resourceVersion && !stillDecidable(taskStatus(decidedOn), current))
    return undefined;
  const generation = decidedOn.metadata.generation;
  const next: Record<string, unknown> = { ...current, phase: decision.phase };
  if (decision.set.assignment === null) delete next.assignment;
  if (decision.set.retryAt === null) delete next.retryAt;
  else if (decision.set.retryAt !== undefined) next.retryAt = rfc3339(decision.set.retryAt);
  if (decision.set.queuedAt !== undefined) next.queuedAt = rfc3339(decision.set.queuedAt);
  if (decision.set.completedAt !== undefined) {
    next.completedAt = rfc3339(decision.set.completedAt);
    // Priced once, as the task ends, at the prices of that moment: a later price change
    // does not rewrite what was spent.
    if (current.usage && pricing) {
      const cost = costOf(current.usage, pricing.prices);
      if (cost !== undefined) next.usage = { ...current.usage, cost, currency: pricing.currency };
    }
  }
  if (decision.append) next.history = [...(current.history ?? []), withShortReason(decision.append)].slice(-32);
  if (decision.condition) next.conditions = setCondition(current.conditions, decision.condition, rfc3339(now), generation);
  if (generation !== undefined) next.observedGeneration = generation;
  return next;
}
