import type { ResourceType } from '../operator/src/runtime/rest/resource.ts';

export { ServiceAccounts, collectionPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';

export const Namespaces: ResourceType = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };
export const Nodes: ResourceType = { group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };
