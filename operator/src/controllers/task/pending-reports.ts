// Which "why it waits" reports the router writes, when more tasks wait than it may write
// for. A cycle routes the whole queue in queue order; spending the writes in that order
// let the head of a busy queue (its counts moving with every agent change) take every
// write, cycle after cycle, and a task further back never got its first status.

/** What the router last wrote (or is writing) for a waiting task. */
export interface Written {
  /** The kinds of reason, sorted and joined: a new kind is news, a moved count is not. */
  kinds: string;
  at: number;
}

/** How urgently a task's report is due: the lower rank first, then the longest unwritten. */
export interface ReportNeed {
  rank: 0 | 1 | 2;
  since: number;
}

/**
 * Whether a waiting task's report is due now, and how urgently: a task the operator never
 * reported on first, then one whose reasons changed kind, then moved counts (at most
 * every `refreshMs`). Undefined when the object already says it, or it was just written.
 */
export function reportNeed(
  task: { phase?: string | undefined; message?: string | undefined },
  next: { message: string; kinds: string },
  last: Written | undefined,
  now: number,
  refreshMs: number,
): ReportNeed | undefined {
  if (task.message === next.message && task.phase === 'Pending') return undefined;
  if (last && last.kinds === next.kinds && now - last.at < refreshMs) return undefined;
  const since = last?.at ?? 0;
  if (task.phase === undefined) return { rank: 0, since };
  if (last?.kinds !== next.kinds) return { rank: 1, since };
  return { rank: 2, since };
}

export const byUrgency = (a: ReportNeed, b: ReportNeed): number => a.rank - b.rank || a.since - b.since;
