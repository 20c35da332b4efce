import type { Condition } from '../api/common.ts';

export interface ConditionUpdate {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Sets one condition in a list, Kubernetes-style: lastTransitionTime moves only when
 * the status changes, so "since when" stays true while reasons and messages update.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  update: ConditionUpdate,
  now: string,
  observedGeneration?: number,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === update.type);
  const previous = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    ...update,
    message: update.message.slice(0, 32768),
    lastTransitionTime: previous && previous.status === update.status ? previous.lastTransitionTime : now,
    ...(observedGeneration !== undefined ? { observedGeneration } : {}),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** RFC 3339 to the second, as metav1.Time is written. */
export { rfc3339 } from '../core/timestamp.ts';
