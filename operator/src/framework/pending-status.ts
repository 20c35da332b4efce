import type { PendingStatus, TaskInfo } from './types.ts';

/**
 * The "why is it pending?" answer, as kube-scheduler words it: most common reason first,
 * alphabetical among equals, so the same situation always prints the same line.
 */
export function pendingMessage(namespace: string, total: number, reasons: Readonly<Record<string, number>>): string {
  if (total === 0) return `no agents in namespace ${namespace}`;
  const parts = Object.entries(reasons)
    .sort(([ra, a], [rb, b]) => b - a || (ra < rb ? -1 : ra > rb ? 1 : 0))
    .map(([reason, n]) => `${n} ${reason}`);
  return `0/${total} agents can run it: ${parts.join(', ')}`;
}

export function pendingStatus(
  task: TaskInfo,
  total: number,
  reasons: Readonly<Record<string, number>>,
  wake: readonly string[],
): PendingStatus {
  return { task, total, reasons, message: pendingMessage(task.namespace, total, reasons), wake };
}
