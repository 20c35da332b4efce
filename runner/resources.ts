import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import { resourceOfKind } from '../operator/src/runtime/rest/resource.ts';

export const Tasks = resourceOfKind(taskKind);
export const Agents = resourceOfKind(agentKind);
