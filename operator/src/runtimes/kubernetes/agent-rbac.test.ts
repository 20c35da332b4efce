import { describe, expect, it } from 'vitest';
import { agentAccount, agentRole, grantsOf } from './agent-rbac.ts';

const agent = { namespace: 'ns', name: 'coder', uid: 'uid-1' };

describe('agentAccount', () => {
  it('gives the account the annotations of the spec, and none without them; binds the agent’s own Role', () => {
    const { account, binding } = agentAccount(agent, { 'iam.gke.io/gcp-service-account': 'coder@p.iam.gserviceaccount.com' });
    expect(account.metadata).toMatchObject({
      name: 'agent-coder',
      annotations: { 'iam.gke.io/gcp-service-account': 'coder@p.iam.gserviceaccount.com' },
      ownerReferences: [{ kind: 'Agent', name: 'coder', uid: 'uid-1', controller: true }],
    });
    expect(binding).toMatchObject({
      roleRef: { kind: 'Role', name: 'agent-coder' },
      subjects: [{ kind: 'ServiceAccount', name: 'agent-coder', namespace: 'ns' }],
    });
    expect(agentAccount(agent).account.metadata).not.toHaveProperty('annotations');
  });
});

describe('agentRole', () => {
  type Rule = { resources: string[]; verbs: string[]; resourceNames?: string[] };
  const rules = (grants: { read: string[]; write: string[] }): Rule[] => (agentRole(agent, grants) as unknown as { rules: Rule[] }).rules;

  it('names everything but the Lease’s creation: its Lease, its Agent, itself', () => {
    const unnamed = rules({ read: [], write: [] }).filter((r) => !r.resourceNames);
    // A create has no name when RBAC looks at it; the admission policy checks the Lease's name.
    expect(unnamed).toEqual([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] }]);
    expect(rules({ read: [], write: [] }).map((r) => [r.resources[0], r.resourceNames])).toEqual([
      ['leases', undefined],
      ['leases', ['agent-coder']],
      ['agents', ['coder']],
      ['agents/status', ['coder']],
      ['roles', ['agent-coder']],
    ]);
  });

  it('leaves the Task rules out when there is no Task to name: an empty resourceNames means every Task', () => {
    expect(rules({ read: [], write: [] }).some((r) => r.resources.includes('tasks') || r.resources.includes('tasks/status'))).toBe(false);
    expect(rules({ read: ['dep'], write: [] }).find((r) => r.resources.includes('tasks/status'))).toBeUndefined();
  });

  it('reads back the grants it was made with, and none from a Role of someone else', () => {
    const grants = { read: ['dep', 't1', 't2'], write: ['t1', 't2'] };
    expect(grantsOf(agentRole(agent, grants))).toEqual(grants);
    expect(
      grantsOf({ metadata: { name: 'other' }, rules: [{ apiGroups: [''], resources: ['tasks'], resourceNames: ['x'], verbs: ['get'] }] }),
    ).toEqual({ read: [], write: [] });
    expect(grantsOf(undefined)).toEqual({ read: [], write: [] });
  });
});
