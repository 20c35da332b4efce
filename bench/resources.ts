import type { ResourceType } from '../operator/src/runtime/rest/resource.ts';

export { collectionPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';

export const Namespaces: ResourceType = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };
export const Nodes: ResourceType = { group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false };
export const ServiceAccounts: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  namespaced: true,
};
