import { describe, expect, it } from 'vitest';
import { AgentRbac, agentAccount, agentRole } from './agent-rbac.ts';
import { grantsOf } from './agent-role.ts';

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

describe('AgentRbac', () => {
  const recorder = (): { calls: string[]; rbac: AgentRbac } => {
    const calls: string[] = [];
    const writer = {
      apply: (rt: { plural: string }, obj: { metadata: { name?: string } }) => {
        calls.push(`apply ${rt.plural}/${obj.metadata.name ?? ''}`);
        return Promise.resolve(obj as never);
      },
    };
    const client = {
      request: (method: string, path: string) => {
        calls.push(`${method} ${path}`);
        return Promise.resolve(undefined as never);
      },
    };
    return { calls, rbac: new AgentRbac(writer, client as never) };
  };

  it('makes the account, the Role and then the binding once per Agent, again with new annotations or once forgotten', async () => {
    const { calls, rbac } = recorder();
    await rbac.ensureAgentAccount(agent, undefined);
    // The binding last: RBAC checks the operator holds what the bound Role grants.
    expect(calls).toEqual([
      'apply serviceaccounts/agent-coder',
      'POST /apis/rbac.authorization.k8s.io/v1/namespaces/ns/roles',
      'apply rolebindings/agent-coder',
    ]);
    await rbac.ensureAgentAccount(agent, undefined);
    expect(calls).toHaveLength(3);
    await rbac.ensureAgentAccount(agent, { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/coder' });
    expect(calls).toHaveLength(6);
    rbac.forget(agent);
    await rbac.ensureAgentAccount(agent, { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/coder' });
    expect(calls).toHaveLength(9);
  });
});
