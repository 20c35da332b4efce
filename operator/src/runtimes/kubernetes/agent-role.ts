// The parts of an agent's Role its runner reads too; without the API's schemas, as the
// runner loads no zod (runner/resources.ts says what that costs).
import { GROUP } from '../../api/names.ts';
import type { TaskGrants } from '../../core/task-grants.ts';
import type { KubeObject } from '../../runtime/rest/object.ts';

/** Agent `name`'s identity: its ServiceAccount, its Role, their RoleBinding and its Pod bear this name. */
export const agentIdentity = (agent: string): string => `agent-${agent}`;

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The Tasks a Role made by agentRole names (nothing for any other Role). */
export function grantsOf(role: KubeObject | undefined): TaskGrants {
  const rules = ((role as { rules?: Rule[] } | undefined)?.rules ?? []).filter((r) => r.apiGroups.includes(GROUP) && r.resourceNames);
  const named = (resource: string): string[] => rules.filter((r) => r.resources.includes(resource)).flatMap((r) => r.resourceNames ?? []);
  return { read: named('tasks'), write: named('tasks/status') };
}
