import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { OperatorProcess } from '../../support/operator-process.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);
type TaskObj = KubeObject & { status?: { phase?: string; attempts?: number; history?: { outcome: string }[] } };

// The router keeps its queue, its agent cache and the assignments it is writing in
// memory. Killed while a burst is being written (a small client budget keeps writes
// queued behind their tokens), its successor rebuilds all of it from the API server:
// every task is assigned once and runs once.
describe('the operator killed while assignments are being written', () => {
  beforeAll(installCrds);
  const ns = useNamespace('router-kill-');
  const processes: OperatorProcess[] = [];
  let fleet: Fleet | undefined;
  afterAll(async () => {
    fleet?.stop();
    await Promise.all(processes.map((p) => p.stop()));
  });
  const operator = (): OperatorProcess => {
    const op = new OperatorProcess({
      AO_WATCH_NAMESPACES: ns.name,
      AO_LEADER_ELECT: 'false',
      AO_KUBE_API_QPS: '20',
      AO_KUBE_API_BURST: '20',
    });
    processes.push(op);
    return op;
  };
  const tasks = async (): Promise<TaskObj[]> => (await client.request<ObjectList<TaskObj>>('GET', collectionPath(Tasks, ns.name))).items;

  it('loses no task and assigns none twice', async () => {
    const first = operator();
    const agents = new Fleet(client, ns.name);
    fleet = agents;
    for (let i = 0; i < 10; i++) await agents.agent(`w-${i}`, { maxConcurrentTasks: 5 });
    const names = Array.from({ length: 200 }, (_, i) => `burst-${i}`);
    await Promise.all(names.map((n) => agents.task(n)));
    await waitFor('some tasks assigned, most not yet', async () => {
      const assigned = (await tasks()).filter((t) => (t.status?.attempts ?? 0) > 0).length;
      return assigned >= 10 ? true : undefined;
    });
    first.kill('SIGKILL');
    await first.exited;
    operator();
    const done = await waitFor(
      'every task to succeed',
      async () => {
        const all = await tasks();
        return all.length === names.length && all.every((t) => t.status?.phase === 'Succeeded') ? all : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
    for (const t of done) {
      const name = t.metadata.name ?? '';
      expect(t.status?.attempts, name).toBe(1);
      expect(
        t.status?.history?.map((h) => h.outcome),
        name,
      ).toEqual(['Succeeded']);
      expect(agents.executions.get(name), name).toHaveLength(1);
    }
  }, 240_000);
});
