import type { Status } from './status.ts';
import type { PendingStatus, TaskInfo } from './types.ts';

/**
 * The "why is it pending?" answer, as kube-scheduler words it: most common reason first,
 * alphabetical among equals, each with the plugin that gave it, so the same situation
 * always prints the same line.
 */
export function pendingMessage(
  namespace: string,
  total: number,
  reasons: Readonly<Record<string, number>>,
  plugins: Readonly<Record<string, string>> = {},
  pinnedTo?: string,
): string {
  // With no agent to give a reason, the pin is the one thing the user may have got wrong.
  if (total === 0) return `no agents in namespace ${namespace}${pinnedTo ? ` (it is pinned to agent ${pinnedTo})` : ''}`;
  const parts = Object.entries(reasons)
    .sort(([ra, a], [rb, b]) => b - a || (ra < rb ? -1 : ra > rb ? 1 : 0))
    .map(([reason, n]) => (plugins[reason] ? `${n} ${reason} (${plugins[reason]})` : `${n} ${reason}`));
  return `0/${total} agents can run it: ${parts.join(', ')}`;
}

/** Per-agent statuses counted by reason. */
export function pendingStatus(task: TaskInfo, statuses: Iterable<Status>, total: number, wake: readonly string[]): PendingStatus {
  // Maps, not objects, while counting: a reason is free text and must not meet Object.prototype.
  const counts = new Map<string, number>();
  const by = new Map<string, string>();
  for (const s of statuses) {
    const reason = s.reason ?? s.code;
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
    if (s.plugin !== undefined && !by.has(reason)) by.set(reason, s.plugin);
  }
  const reasons = Object.fromEntries(counts);
  const plugins = Object.fromEntries(by);
  return { task, total, reasons, plugins, message: pendingMessage(task.namespace, total, reasons, plugins, task.affinity?.agent), wake };
}

/** One status for the whole task (a PreFilter or Permit said no, or a plugin failed). */
export function taskWideStatus(task: TaskInfo, status: Status, total: number): PendingStatus {
  const reason = status.reason ?? status.code;
  const who = status.plugin ?? 'routing';
  const message = status.code === 'Error' ? `routing plugin ${who} failed: ${reason}` : `${who}: ${reason}`;
  return { task, total, reasons: { [reason]: total }, plugins: { [reason]: who }, message, wake: [] };
}
