import { beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { taskKind } from '../../../operator/src/api/kinds.ts';
import { EventRecorder } from '../../../operator/src/runtime/events.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { ConfigMaps, Events, collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { FIELD_MANAGER, Writer } from '../../../operator/src/runtime/writer.ts';
import { installCrds } from '../../support/crds.ts';
import { useNamespace } from '../../support/kube.ts';
import { metricValue, testClient, testLogger, testMetrics } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);
type Status = { phase?: string; attempts?: number };

function recorderWith(metrics: ReturnType<typeof testMetrics>): EventRecorder {
  return new EventRecorder({
    client,
    controller: 'agents.orchestrator.dev/test',
    instance: 'test-0',
    logger: testLogger(),
    dropped: metrics.eventsDropped,
  });
}

describe('Writer and EventRecorder against a real API server', () => {
  beforeAll(installCrds);
  const ns = useNamespace('writer-');
  const writer = new Writer(client);

  const createTask = (name: string): Promise<KubeObject & { status?: Status }> =>
    client.request('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: {} },
    });

  it('writes status through the subresource, and skips a write that changes nothing', async () => {
    const task = await createTask('status-noop');
    const written = await writer.updateStatus<Status>(Tasks, { current: task, status: () => ({ phase: 'Pending' }) });
    expect(written?.status).toEqual({ phase: 'Pending' });
    const rv = written?.metadata.resourceVersion;

    const again = await writer.updateStatus<Status>(Tasks, {
      current: written as KubeObject & { status?: Status },
      status: () => ({ phase: 'Pending' }),
    });
    expect(again).toBeUndefined();
    const live = await client.request<KubeObject>('GET', objectPath(Tasks, ns.name, 'status-noop'));
    expect(live.metadata.resourceVersion).toBe(rv);
  });

  it('retries a conflicting status write against the fresh object', async () => {
    const task = await createTask('status-conflict');
    // Another writer moves the object on; our copy is stale.
    await client.request('PUT', objectPath(Tasks, ns.name, 'status-conflict', 'status'), {
      body: { ...task, status: { phase: 'Assigned', attempts: 1 } },
    });
    const seen: (Status | undefined)[] = [];
    const written = await writer.updateStatus<Status>(Tasks, {
      current: task,
      status: (obj) => {
        seen.push(obj.status);
        return { ...obj.status, attempts: (obj.status?.attempts ?? 0) + 1 };
      },
    });
    // The first attempt computed from the stale copy; the retry from the server's.
    expect(seen).toEqual([undefined, { phase: 'Assigned', attempts: 1 }]);
    expect(written?.status).toEqual({ phase: 'Assigned', attempts: 2 });
  });

  it('owns what it applies with server-side apply, and applying twice changes nothing', async () => {
    const desired: KubeObject = { metadata: { name: 'applied', namespace: ns.name, labels: { owner: 'test' } }, data: { a: '1' } };
    const first = await writer.apply(ConfigMaps, desired);
    const second = await writer.apply(ConfigMaps, desired);
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    const managers = (first.metadata.managedFields as { manager: string; operation: string }[]).map((m) => [m.manager, m.operation]);
    expect(managers).toEqual([[FIELD_MANAGER, 'Apply']]);
    const changed = await writer.apply(ConfigMaps, { ...desired, data: { a: '2' } });
    expect(changed.data).toEqual({ a: '2' });
  });

  it('records events.k8s.io Events and folds repeats into one series', async () => {
    const metrics = testMetrics();
    const recorder = recorderWith(metrics);
    const task = await createTask('evented');
    for (let i = 0; i < 3; i++) await recorder.record(task, 'Warning', 'BackOff', 'Retry', 'the agent crashed: exit code 137');
    await recorder.record(task, 'Normal', 'Assigned', 'Assign', 'assigned to agent reviewer-1');

    const events = await waitFor('two Events', async () => {
      const list = await client.request<ObjectList>('GET', collectionPath(Events, ns.name), {
        query: { fieldSelector: 'regarding.name=evented' },
      });
      return list.items.length === 2 ? list.items : undefined;
    });
    const backOff = events.find((e) => e.reason === 'BackOff');
    expect(backOff).toMatchObject({
      type: 'Warning',
      action: 'Retry',
      note: 'the agent crashed: exit code 137',
      reportingController: 'agents.orchestrator.dev/test',
      regarding: { kind: 'Task', name: 'evented', uid: task.metadata.uid },
      series: { count: 3 },
    });
    expect(events.find((e) => e.reason === 'Assigned')?.series).toBeUndefined();
    expect(await metricValue(metrics, 'agent_orchestrator_events_dropped_total')).toBe(0);
  });

  it('drops an Event it cannot write without throwing', async () => {
    const metrics = testMetrics();
    const recorder = recorderWith(metrics);
    const ghost: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'no-such-namespace' } };
    await expect(recorder.record(ghost, 'Normal', 'Test', 'Test', 'note')).resolves.toBeUndefined();
    expect(await metricValue(metrics, 'agent_orchestrator_events_dropped_total')).toBe(1);
  });
});
