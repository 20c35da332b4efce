import { GROUP, VERSION } from '../operator/src/api/names.ts';
import type { ResourceType } from '../operator/src/runtime/rest/resource.ts';

// Written out rather than derived from api/kinds.ts, which builds every kind's zod schema
// (about 18 MB of the runner's RSS); resources.test.ts checks they match.
export const Tasks: ResourceType = { group: GROUP, version: VERSION, kind: 'Task', plural: 'tasks', namespaced: true };
export const Agents: ResourceType = { group: GROUP, version: VERSION, kind: 'Agent', plural: 'agents', namespaced: true };
