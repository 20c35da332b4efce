import { agent as agentSchema } from '../../api/agent.ts';
import { policy as policySchema } from '../../api/policy.ts';
import { task as taskSchema } from '../../api/task.ts';
import type { AgentObject, ObjectMeta, PolicyObject, TaskObject } from '../../framework/lifecycle.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';

// Typed objects for plugins, parsed with the API's own zod schemas once per object the
// cache holds: the informer replaces an object on every change, so a WeakMap keyed by
// the object is "once per resourceVersion", and a deleted object's entry goes with it.
// An object the schema rejects (the CRD should have refused it) is left out.

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

export const typedAgent = memo<AgentObject>((obj) => {
  const r = agentSchema.safeParse(obj);
  return r.success ? { ...r.data, metadata: metaOf(obj) } : undefined;
});

export const typedTask = memo<TaskObject>((obj) => {
  const r = taskSchema.safeParse(obj);
  return r.success ? { ...r.data, metadata: metaOf(obj) } : undefined;
});

export const typedPolicy = memo<PolicyObject>((obj) => {
  const r = policySchema.safeParse(obj);
  return r.success ? { ...r.data, metadata: metaOf(obj) } : undefined;
});
