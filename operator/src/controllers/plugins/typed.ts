import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { agent as agentSchema } from '../../api/agent.ts';
import { policy as policySchema } from '../../api/policy.ts';
import { task as taskSchema } from '../../api/task.ts';
import type { AgentObject, ObjectMeta, PolicyObject, TaskObject } from '../../framework/lifecycle.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';

// Typed objects for plugins, parsed with the API's own zod schemas once per object the
// cache holds: the informer replaces an object on every change, so a WeakMap keyed by
// the object is "once per resourceVersion", and a deleted object's entry goes with it.
// An object the schema rejects (the CRD should have refused it) is left out.
//
// A typed object shares its spec and status with the cached one when parsing changed
// nothing (the API server applied the same defaults, from the CRD generated from the
// same schemas): a parsed copy of every cached Task was 40% of the cache's memory. What
// is shared is frozen, so a plugin that tries to change it fails (and is reported as
// failing) instead of changing the cache under the controllers.

function memo<T>(parse: (obj: KubeObject) => T | undefined): (obj: KubeObject) => T | undefined {
  const cache = new WeakMap<KubeObject, T | null>();
  return (obj) => {
    const hit = cache.get(obj);
    if (hit !== undefined) return hit ?? undefined;
    const parsed = parse(obj);
    cache.set(obj, parsed ?? null);
    return parsed;
  };
}

function metaOf(obj: KubeObject): ObjectMeta {
  const m = obj.metadata;
  return {
    name: m.name ?? '',
    namespace: m.namespace ?? '',
    uid: m.uid ?? '',
    resourceVersion: m.resourceVersion,
    generation: m.generation,
    creationTimestamp: m.creationTimestamp,
    deletionTimestamp: m.deletionTimestamp,
    labels: m.labels,
    annotations: m.annotations,
  };
}

function typed(schema: z.ZodType, obj: KubeObject): { metadata: ObjectMeta } | undefined {
  const r = schema.safeParse(obj);
  if (!r.success) return undefined;
  const { metadata: _parsed, ...parsed } = r.data as KubeObject;
  const { metadata: _cached, ...cached } = obj;
  const same = isDeepStrictEqual(parsed, cached);
  if (same) deepFreeze(cached);
  const body = same ? cached : parsed;
  const metadata = metaOf(obj);
  deepFreeze(metadata);
  return Object.freeze({ ...body, metadata });
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

export const typedAgent = memo((obj) => typed(agentSchema, obj) as AgentObject | undefined);
export const typedTask = memo((obj) => typed(taskSchema, obj) as TaskObject | undefined);
export const typedPolicy = memo((obj) => typed(policySchema, obj) as PolicyObject | undefined);
