import { describe, expect, it } from 'vitest';
import { resourceOfPath } from './resource.ts';

describe('resourceOfPath', () => {
  it.each([
    ['/api/v1/namespaces/team/pods', 'pods'],
    ['/api/v1/namespaces/team/pods/agent-a', 'pods'],
    ['/api/v1/namespaces/team/pods/agent-a/status', 'pods/status'],
    ['/api/v1/namespaces/team/serviceaccounts/agent-a/token', 'serviceaccounts/token'],
    ['/api/v1/namespaces', 'namespaces'],
    ['/api/v1/namespaces/team', 'namespaces'],
    ['/api/v1/pods', 'pods'],
    ['/apis/agents.orchestrator.dev/v1alpha1/namespaces/team/agents/a/status', 'agents/status'],
    ['/apis/agents.orchestrator.dev/v1alpha1/tasks', 'tasks'],
    ['/apis/coordination.k8s.io/v1/namespaces/team/leases/agent-a', 'leases'],
    ['/apis/authorization.k8s.io/v1/subjectaccessreviews', 'subjectaccessreviews'],
    ['/version', '<other>'],
    ['/apis', '<other>'],
  ])('%s → %s', (path, resource) => {
    expect(resourceOfPath(path)).toBe(resource);
  });
});
