import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../runtime/rest/object.ts';

/**
 * An update worth reconciling for the object's own controller: its spec (generation),
 * labels, annotations, finalizers or deletion changed. Status-only updates, which the
 * controller itself writes, must not trigger it again (a write-reconcile loop).
 */
export function specOrMetadataChanged(oldObj: KubeObject, newObj: KubeObject): boolean {
  const a = oldObj.metadata;
  const b = newObj.metadata;
  return (
    a.generation !== b.generation ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    !isDeepStrictEqual(a.finalizers, b.finalizers) ||
    !isDeepStrictEqual(a.labels, b.labels) ||
    !isDeepStrictEqual(a.annotations, b.annotations)
  );
}
