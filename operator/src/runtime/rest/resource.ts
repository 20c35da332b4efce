import { GROUP, VERSION } from '../../api/names.ts';
import type { KindDefinition } from '../../api/kinds.ts';

/** A resource type the runtime can list, watch and write. */
export interface ResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export const apiVersionOf = (rt: ResourceType): string => (rt.group ? `${rt.group}/${rt.version}` : rt.version);

/** `pods`, `leases.coordination.k8s.io`: how kubectl and metric labels name it. */
export const resourceName = (rt: ResourceType): string => (rt.group ? `${rt.plural}.${rt.group}` : rt.plural);

function prefix(rt: ResourceType): string {
  return rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
}

/** The collection: every namespace when `namespace` is undefined. */
export function collectionPath(rt: ResourceType, namespace?: string): string {
  if (rt.namespaced && namespace !== undefined) {
    return `${prefix(rt)}/namespaces/${encodeURIComponent(namespace)}/${rt.plural}`;
  }
  return `${prefix(rt)}/${rt.plural}`;
}

export function objectPath(rt: ResourceType, namespace: string | undefined, name: string, subresource?: string): string {
  if (rt.namespaced && namespace === undefined) throw new Error(`${rt.kind} ${name}: a namespace is required`);
  const base = `${collectionPath(rt, namespace)}/${encodeURIComponent(name)}`;
  return subresource ? `${base}/${subresource}` : base;
}

/**
 * The resource (and subresource) a request path names, as the API server's metrics
 * label it: `pods`, `agents/status`, `serviceaccounts/token`; `<other>` for non-resource paths.
 */
export function resourceOfPath(path: string): string {
  const segments = path.split('/').filter((s) => s !== '');
  const rest = segments[0] === 'api' ? segments.slice(2) : segments[0] === 'apis' ? segments.slice(3) : [];
  const [resource, , subresource] = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  if (resource === undefined) return '<other>';
  return subresource ? `${resource}/${subresource}` : resource;
}

export const resourceOfKind = (kind: KindDefinition): ResourceType => ({
  group: GROUP,
  version: VERSION,
  kind: kind.kind,
  plural: kind.plural,
  namespaced: true,
});

export const Leases: ResourceType = { group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases', namespaced: true };
export const Events: ResourceType = { group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', namespaced: true };
export const Pods: ResourceType = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
export const ConfigMaps: ResourceType = { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
export const PodTemplates: ResourceType = { group: '', version: 'v1', kind: 'PodTemplate', plural: 'podtemplates', namespaced: true };
export const Secrets: ResourceType = { group: '', version: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true };
export const ServiceAccounts: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  namespaced: true,
};
export const PersistentVolumeClaims: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  namespaced: true,
};
export const Roles: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', namespaced: true };
export const RoleBindings: ResourceType = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  kind: 'RoleBinding',
  plural: 'rolebindings',
  namespaced: true,
};
