import { describe, expect, it } from 'vitest';
import { agentIdentity, agentRole, grantsOf, Roles as OperatorRoles } from '../operator/src/runtimes/kubernetes/agent-rbac.ts';
import { assignedNames, roleOf, Roles } from './assigned-tasks.ts';

const alice = { namespace: 'team', name: 'alice', uid: 'u-1' };

describe("the runner's reading of its Role", () => {
  it('names the Role the operator writes', () => {
    expect(Roles).toEqual(OperatorRoles);
    expect(roleOf('alice')).toBe(agentIdentity('alice'));
  });

  it('finds the Tasks the operator granted it to write, and no others', () => {
    for (const grants of [
      { read: [], write: [] },
      { read: ['t1'], write: ['t1'] },
      { read: ['t1', 't2', 'dep'], write: ['t1', 't2'] },
    ]) {
      expect(assignedNames(agentRole(alice, grants))).toEqual(grantsOf(agentRole(alice, grants)).write);
    }
    expect(assignedNames(undefined)).toEqual([]);
  });
});
