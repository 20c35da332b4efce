// What each task says about an SLO, read from the Task as the API server holds it, so an
// operator restart rebuilds every figure. A task is one event: good or bad, at an
// instant. A task still waiting (or still running) past the threshold is already a bad
// event, so a starved queue burns the budget instead of reporting nothing.
import type { TaskObject } from '../../operator/src/framework/index.ts';
import type { Slo } from './config.ts';

export interface SliEvent {
  readonly at: number;
  readonly good: boolean;
}

/** A stretch of time that counts against a time-based SLO (QueueAge). */
export interface BadTime {
  readonly from: number;
  readonly to: number;
}

const time = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
};

/** The task's event for the SLO at `now`, or undefined when it says nothing (yet). */
export function eventOf(slo: Slo, task: TaskObject, now: number): SliEvent | undefined {
  if (slo.capability !== undefined && !task.spec.requiredCapabilities.includes(slo.capability)) return undefined;
  const s = task.status ?? {};
  const created = time(task.metadata.creationTimestamp);
  const limitMs = (slo.thresholdSeconds ?? 0) * 1000;
  switch (slo.indicator) {
    case 'AssignmentLatency': {
      const ready = time(s.queuedAt) ?? created;
      if (ready === undefined) return undefined;
      const assigned = time(s.assignment?.assignedAt);
      // The latest assignment: one that came before the task last became ready is an earlier attempt's.
      if (assigned !== undefined && assigned >= ready) return { at: assigned, good: assigned - ready <= limitMs };
      if (s.phase === 'Pending' && now - ready > limitMs) return { at: ready + limitMs, good: false };
      return undefined;
    }
    case 'EndToEndLatency': {
      if (created === undefined || s.phase === 'Cancelled') return undefined;
      const completed = time(s.completedAt);
      if ((s.phase === 'Succeeded' || s.phase === 'Failed') && completed !== undefined)
        return { at: completed, good: completed - created <= limitMs };
      if (now - created > limitMs) return { at: created + limitMs, good: false };
      return undefined;
    }
    case 'QueueAge':
      return undefined;
    case 'SuccessRatio': {
      const completed = time(s.completedAt);
      if (completed === undefined || (s.phase !== 'Succeeded' && s.phase !== 'Failed')) return undefined;
      return { at: completed, good: s.phase === 'Succeeded' };
    }
  }
}

/**
 * QueueAge: the time during which this task had waited for an agent longer than the
 * threshold, from when it became ready to its assignment (or now, while it waits; or its
 * end, when it was cancelled waiting). The queue's bad time is the union over tasks.
 */
export function badTimeOf(slo: Slo, task: TaskObject, now: number): BadTime | undefined {
  if (slo.capability !== undefined && !task.spec.requiredCapabilities.includes(slo.capability)) return undefined;
  const s = task.status ?? {};
  const ready = time(s.queuedAt) ?? time(task.metadata.creationTimestamp);
  if (ready === undefined) return undefined;
  const assigned = time(s.assignment?.assignedAt);
  let end: number | undefined;
  if (assigned !== undefined && assigned >= ready) end = assigned;
  else if (s.phase === 'Pending') end = now;
  else if (s.phase === 'Cancelled') end = time(s.completedAt);
  const from = ready + (slo.thresholdSeconds ?? 0) * 1000;
  return end !== undefined && end > from ? { from, to: end } : undefined;
}
