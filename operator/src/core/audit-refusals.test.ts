import { describe, expect, it } from 'vitest';
import { AuditBodyError, auditRefusals } from './audit-refusals.ts';

// Shaped as the API server's audit log backend writes them (a Metadata-level policy).
const event = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: 'Metadata',
  auditID: 'a0b1c2',
  stage: 'ResponseComplete',
  requestURI: '/apis/agents.orchestrator.dev/v1alpha1/namespaces/team-a/tasks/bobs-task',
  verb: 'get',
  user: { username: 'system:serviceaccount:team-a:agent-alice', groups: ['system:serviceaccounts'] },
  objectRef: { resource: 'tasks', namespace: 'team-a', name: 'bobs-task', apiGroup: 'agents.orchestrator.dev', apiVersion: 'v1alpha1' },
  responseStatus: { metadata: {}, status: 'Failure', message: 'tasks "bobs-task" is forbidden', reason: 'Forbidden', code: 403 },
  requestReceivedTimestamp: '2026-12-01T10:00:00.100000Z',
  stageTimestamp: '2026-12-01T10:00:00.120000Z',
  ...fields,
});
const list = (...items: unknown[]): unknown => ({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items });

describe('auditRefusals', () => {
  it('files a 403 of an agent identity under its Agent', () => {
    expect(auditRefusals(list(event()))).toEqual([
      {
        auditID: 'a0b1c2',
        namespace: 'team-a',
        agent: 'alice',
        at: Date.parse('2026-12-01T10:00:00.120Z'),
        refusal: { verb: 'get', resource: 'tasks', name: 'bobs-task', namespace: 'team-a', message: 'tasks "bobs-task" is forbidden' },
      },
    ]);
  });

  it.each([
    ['an allowed request', { responseStatus: { code: 200 } }],
    ['another stage of the same request', { stage: 'ResponseStarted' }],
    ['a user that is not an agent', { user: { username: 'system:serviceaccount:team-a:builder' } }],
    ['a person', { user: { username: 'alice@example.com' } }],
    ['an event without a time', { stageTimestamp: undefined, requestReceivedTimestamp: undefined }],
  ])('ignores %s', (_case, fields) => {
    expect(auditRefusals(list(event(fields)))).toEqual([]);
  });

  it('reads the name of a list or watch narrowed by metadata.name, and the subresource', () => {
    const [watch, status] = auditRefusals(
      list(
        event({
          verb: 'watch',
          requestURI: '/apis/agents.orchestrator.dev/v1alpha1/namespaces/team-a/tasks?fieldSelector=metadata.name%3Dbobs-task&watch=true',
          objectRef: { resource: 'tasks', namespace: 'team-a' },
        }),
        event({ verb: 'patch', objectRef: { resource: 'tasks', subresource: 'status', namespace: 'team-a', name: 'b' } }),
      ),
    );
    expect(watch?.refusal).toMatchObject({ verb: 'watch', name: 'bobs-task' });
    expect(status?.refusal).toMatchObject({ verb: 'patch', resource: 'tasks/status', name: 'b' });
  });

  it('refuses a body that is not an EventList, saying what it expected', () => {
    expect(() => auditRefusals({ kind: 'Event' })).toThrow(AuditBodyError);
    expect(() => auditRefusals([])).toThrow(/expected an audit.k8s.io\/v1 EventList/);
  });
});
