import { describe, expect, it } from 'vitest';
import { refusalOf, samplesBy, sumSamples } from './operator.ts';

describe('refusalOf', () => {
  it.each([
    ['{"err":"PUT /apis/agents.orchestrator.dev/v1alpha1/namespaces/n/tasks/t/status: 422 Invalid: ..."}', 'status'],
    ['{"err":"POST /apis/events.k8s.io/v1/namespaces/n/events: 422 Invalid","msg":"could not record an event"}', 'event'],
    ['{"err":"POST /api/v1/namespaces/n/pods: 422 Invalid: spec.affinity"}', 'pod'],
    ['{"err":"PATCH /apis/rbac.authorization.k8s.io/v1/namespaces/n/roles/r: 422 Invalid"}', 'other'],
  ])('%s → %s', (line, target) => {
    expect(refusalOf(line)?.target).toBe(target);
  });

  it('ignores lines without a 422', () => {
    expect(refusalOf('{"err":"GET /x: 401 Unauthorized"}')).toBeUndefined();
    expect(refusalOf('{"count":4220}')).toBeUndefined();
  });
});

describe('metric samples', () => {
  const text = [
    '# TYPE controller_runtime_reconcile_total counter',
    'controller_runtime_reconcile_total{controller="task",result="success"} 7',
    'controller_runtime_reconcile_total{controller="task",result="error"} 2',
    'controller_runtime_reconcile_total{controller="agent",result="success"} 5',
    'controller_runtime_reconcile_total_other{controller="task"} 100',
    'rest_client_requests_total{code="422",method="PUT",host="h"} 3',
  ].join('\n');
  it('sums the samples whose labels match', () => {
    expect(sumSamples(text, 'controller_runtime_reconcile_total', { controller: 'task' })).toBe(9);
    expect(sumSamples(text, 'controller_runtime_reconcile_total')).toBe(14);
    expect(sumSamples(text, 'rest_client_requests_total', { code: '422' })).toBe(3);
  });
  it('groups by a label', () => {
    expect(samplesBy(text, 'controller_runtime_reconcile_total', 'controller')).toEqual(
      new Map([
        ['task', 9],
        ['agent', 5],
      ]),
    );
  });
});
