import type { KubeObject } from '../runtime/rest/object.ts';

/** Where client-side `kubectl apply` keeps a copy of the whole object as last applied. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the Task cache keeps, beyond the informer's own trimming (managedFields): not the
 * last-applied annotation, a second copy of the Task's spec (its input and payload
 * included) on every Task created with `kubectl apply`. Nothing in the operator or its
 * plugins reads it, and no Task is written back whole from the cache (only merge
 * patches, and status updates whose metadata the server ignores), so the annotation
 * stays on the server. Spec and status are kept whole: plugins see every field.
 */
export function taskForCache<T extends KubeObject>(task: T): T {
  const annotations = task.metadata.annotations;
  if (annotations?.[LAST_APPLIED] === undefined) return task;
  const { [LAST_APPLIED]: _, ...rest } = annotations;
  return { ...task, metadata: { ...task.metadata, annotations: rest } };
}
