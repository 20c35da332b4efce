// The disaster-recovery drill in a bounded form (hack/dr-drill.sh runs it with more work):
// an etcd snapshot taken while tasks run, more work done after it, the plane destroyed and
// restored from the snapshot into a fresh one, the operator and the agents' runners
// started again. The operator keeps no state outside the API server, so the restored
// cluster is all it needs.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { agentKind, taskKind } from '../../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../support/crds.ts';
import { Fleet, type Behaviour } from '../support/fleet.ts';
import { useNamespace } from '../support/kube.ts';
import { startOperator, type RunningOperator } from '../support/operator.ts';
import { testClient } from '../support/runtime.ts';
import { waitFor } from '../support/wait.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);
type TaskObj = KubeObject & {
  status?: { phase?: string; attempts?: number; history?: { agent: string; outcome: string; reason?: string }[] };
};

// hack/dr-drill.sh sets larger numbers; the bounded form in `make test` uses these.
const AGENTS = Number(process.env.AO_DR_AGENTS ?? 2);
const TASKS = Number(process.env.AO_DR_TASKS ?? 3);
const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const agentNames = names('a', AGENTS);

const plane = (...args: string[]): Promise<unknown> => promisify(execFile)(path.join(repo, 'hack/control-plane.sh'), args, { cwd: repo });

describe('disaster recovery from an etcd snapshot', () => {
  const ns = useNamespace('dr-');
  const backup = mkdtempSync(path.join(tmpdir(), 'ao-dr-'));
  let operator: RunningOperator | undefined;
  const fleets: Fleet[] = [];
  afterAll(async () => {
    for (const f of fleets) f.stop();
    await operator?.stop();
    rmSync(backup, { recursive: true, force: true });
  });

  const tasks = async (): Promise<Map<string, TaskObj>> =>
    new Map(
      (await client.request<ObjectList<TaskObj>>('GET', collectionPath(Tasks, ns.name))).items.map((t) => [t.metadata.name ?? '', t]),
    );
  const allIn = (names: string[], phase: string) => async (): Promise<true | undefined> => {
    const now = await tasks();
    return names.every((n) => now.get(n)?.status?.phase === phase) ? true : undefined;
  };

  it('ends every task exactly once, redoes as a recorded attempt only what was lost, and keeps the agents', async () => {
    await installCrds();
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });
    let released = false;
    const held: Behaviour = async (task, _agent, signal) => {
      while (!released && !signal.aborted) await new Promise((r) => setTimeout(r, 50));
      return signal.aborted
        ? { outcome: 'Cancelled', output: '', reason: 'stopped' }
        : { outcome: 'Succeeded', output: task.name, reason: 'exit code 0', exitCode: 0 };
    };
    const before = new Fleet(client, ns.name);
    fleets.push(before);
    for (const name of agentNames)
      await before.agent(name, {
        behaviour: async (task, agent, signal) =>
          task.name.startsWith('held-')
            ? held(task, agent, signal)
            : { outcome: 'Succeeded', output: task.name, reason: 'exit code 0', exitCode: 0 },
      });
    const uids = new Map<string, string | undefined>();
    for (const name of agentNames)
      uids.set(name, (await client.request<KubeObject>('GET', objectPath(Agents, ns.name, name))).metadata.uid);

    // Done before the snapshot; running (one per agent, each agent takes one) and waiting at it.
    const done = names('done', TASKS);
    for (const n of done) await before.task(n);
    await waitFor('the first tasks done', allIn(done, 'Succeeded'), { timeoutMs: 60_000 });
    const running = names('held', AGENTS);
    for (const n of running) await before.task(n);
    await waitFor('a task running on each agent', allIn(running, 'Running'), { timeoutMs: 60_000 });
    const waiting = names('queued', TASKS);
    for (const n of waiting) await before.task(n);
    await waitFor('the rest waiting', allIn(waiting, 'Pending'), { timeoutMs: 30_000 });

    await plane('backup', backup);

    // After the snapshot everything finishes: work the restore will not know about.
    released = true;
    await waitFor('everything done before the disaster', allIn([...done, ...running, ...waiting], 'Succeeded'), { timeoutMs: 60_000 });
    const lostTimeline = new Map(before.executions);

    // The disaster: operator and runners gone, the plane destroyed, restored from the backup.
    before.stop();
    await operator.stop();
    operator = undefined;
    const restoreStart = Date.now();
    await plane('restore', backup);
    const restoreMs = Date.now() - restoreStart;
    // The client's pooled connections went with the old API server: the first request may need another try.
    const restored = await waitFor('the restored plane to answer', () => tasks(), { timeoutMs: 30_000 });
    expect(Object.fromEntries([...restored].map(([n, t]) => [n, t.status?.phase]))).toEqual(
      Object.fromEntries([
        ...done.map((n) => [n, 'Succeeded']),
        ...running.map((n) => [n, 'Running']),
        ...waiting.map((n) => [n, 'Pending']),
      ]),
    );

    // A new operator and new runner processes for the same Agents.
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });
    const after = new Fleet(client, ns.name);
    fleets.push(after);
    for (const name of agentNames) await after.attach(name);
    const recoveryStart = Date.now();
    await waitFor('every task done again', allIn([...done, ...running, ...waiting], 'Succeeded'), { timeoutMs: 120_000 });
    const final = await tasks();
    // hack/dr-drill.sh reports the figures (not asserted: a benchmark's job, not a test's).
    if (process.env.AO_DR_AGENTS !== undefined) {
      console.log(
        `drill: ${AGENTS} agents, ${final.size} tasks; plane destroyed and restored in ${(restoreMs / 1000).toFixed(1)} s; all tasks ended ${((Date.now() - recoveryStart) / 1000).toFixed(1)} s after the operator and runners started again (the runners wait out their predecessors' Leases)`,
      );
    }

    // Ended before the snapshot: not run again. Running at it: its runner was gone, so the
    // attempt was handed back (Lost) and run once more, both in the history. Waiting at it: run once.
    for (const n of done) {
      expect(after.executions.get(n)).toBeUndefined();
      expect(final.get(n)?.status?.history?.map((h) => h.outcome)).toEqual(['Succeeded']);
    }
    for (const n of running) {
      expect(after.executions.get(n)).toHaveLength(1);
      expect(final.get(n)?.status?.history?.map((h) => h.outcome)).toEqual(['Lost', 'Succeeded']);
      expect(final.get(n)?.status?.attempts).toBe(2);
    }
    for (const n of waiting) {
      expect(after.executions.get(n)).toHaveLength(1);
      expect(final.get(n)?.status?.history?.map((h) => h.outcome)).toEqual(['Succeeded']);
    }
    // What was done between the snapshot and the disaster ran once then and once after.
    expect([...lostTimeline.keys()].sort()).toEqual([...done, ...running, ...waiting].sort());

    // The same Agents (same UIDs) are Ready again: adopted, not recreated.
    for (const name of agentNames) {
      const a = await waitFor(
        `${name} Ready`,
        async () => {
          const obj = await client.request<KubeObject & { status?: { phase?: string } }>('GET', objectPath(Agents, ns.name, name));
          return obj.status?.phase === 'Ready' ? obj : undefined;
        },
        { timeoutMs: 60_000 },
      );
      expect(a.metadata.uid).toBe(uids.get(name));
    }
  });
});
