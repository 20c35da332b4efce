import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_LABEL, API_VERSION } from '../../../operator/src/api/common.ts';
import { taskKind } from '../../../operator/src/api/kinds.ts';
import { Informer } from '../../../operator/src/runtime/cache/informer.ts';
import { systemClock } from '../../../operator/src/runtime/clock.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { CommandExecutor } from '../../../runner/executors/command.ts';
import type { ExecutionResult } from '../../../runner/executors/executor.ts';
import { TaskRunner } from '../../../runner/task-runner.ts';
import { installCrds } from '../../support/crds.ts';
import { useNamespace } from '../../support/kube.ts';
import { testClient, testLogger } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);

type TaskObj = KubeObject & {
  status?: { phase?: string; assignment?: { agent: string; attempt: number }; history?: { outcome: string; reason?: string }[]; result?: { output?: string } };
};

// The runner's task loop against the real API server: claims, fences, capacity, shutdown.
describe('the agent runner', () => {
  beforeAll(installCrds);
  const ns = useNamespace('runner-');
  const stops: AbortController[] = [];
  afterEach(() => {
    for (const s of stops.splice(0)) s.abort();
  });

  async function runnerFor(agent: string, command: string[], capacity = 1): Promise<{ runner: TaskRunner; finished: ExecutionResult[] }> {
    const stop = new AbortController();
    stops.push(stop);
    const tasks = new Informer<KubeObject>({ client, resource: Tasks, namespace: ns.name, labelSelector: `${AGENT_LABEL}=${agent}`, logger: testLogger() });
    const finished: ExecutionResult[] = [];
    const runner = new TaskRunner({
      client,
      tasks,
      agent,
      executor: new CommandExecutor({ command, env: { PATH: process.env.PATH ?? '' } }),
      capacity: () => capacity,
      onFinished: (r) => finished.push(r),
      clock: systemClock,
      logger: testLogger(),
    });
    void tasks.run(stop.signal);
    await tasks.waitForSync();
    return { runner, finished };
  }

  /** A Task assigned (by hand, as the task controller does) to `agent` for `attempt`. */
  async function assign(name: string, agent: string, attempt = 1, input = ''): Promise<TaskObj> {
    const created = await client.request<TaskObj>('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name, labels: { [AGENT_LABEL]: agent } }, spec: { input } },
    });
    return client.request('PUT', `${objectPath(Tasks, ns.name, name)}/status`, {
      body: { ...created, status: { phase: 'Assigned', assignment: { agent, attempt, assignedAt: '2026-11-26T00:00:00Z' } } },
    });
  }
  const task = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const phaseOf = (name: string, phase: string) => async (): Promise<TaskObj | undefined> => {
    const t = await task(name);
    return t.status?.phase === phase ? t : undefined;
  };

  it('runs no more tasks at once than its capacity', async () => {
    // Each task blocks until its release file exists.
    const dir = `/tmp/runner-capacity-${Date.now()}`;
    await runnerFor('narrow', ['sh', '-c', `mkdir -p ${dir}; touch ${dir}/$TASK_NAME.started; while [ ! -e ${dir}/$TASK_NAME.go ]; do sleep 0.05; done`], 1);
    for (const n of ['c1', 'c2', 'c3']) await assign(n, 'narrow');
    await waitFor('one task running', async () => {
      const running = (await Promise.all(['c1', 'c2', 'c3'].map(task))).filter((t) => t.status?.phase === 'Running');
      return running.length === 1 ? running[0] : undefined;
    });
    const { writeFile } = await import('node:fs/promises');
    for (const n of ['c1', 'c2', 'c3']) {
      const running = (await Promise.all(['c1', 'c2', 'c3'].map(task))).filter((t) => t.status?.phase === 'Running');
      expect(running.length).toBeLessThanOrEqual(1);
      const current = running[0]?.metadata.name ?? n;
      await writeFile(`${dir}/${current}.go`, '');
      await waitFor(`${current} to finish`, phaseOf(current, 'Succeeded'));
    }
    for (const n of ['c1', 'c2', 'c3']) expect((await task(n)).status?.phase).toBe('Succeeded');
  });

  it('drops its result when the task was reassigned while it ran (the fence)', async () => {
    const dir = `/tmp/runner-fence-${Date.now()}`;
    const { runner, finished } = await runnerFor('fenced', ['sh', '-c', `mkdir -p ${dir}; while [ ! -e ${dir}/go ]; do sleep 0.05; done; echo late result`]);
    await assign('stolen', 'fenced', 1);
    const running = await waitFor('Running', phaseOf('stolen', 'Running'));
    // The task controller gives attempt 2 to another agent (its heartbeat had expired, say).
    await client.request('PUT', `${objectPath(Tasks, ns.name, 'stolen')}/status`, {
      body: { ...running, status: { phase: 'Assigned', assignment: { agent: 'other-agent', attempt: 2, assignedAt: '2026-11-26T00:01:00Z' } } },
    });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${dir}/go`, '');
    // The command finished, but the runner wrote nothing: attempt 2 belongs to other-agent.
    await waitFor('the runner to be done with it', () => (runner.active() === 0 ? true : undefined));
    expect(finished).toEqual([]);
    const after = await task('stolen');
    expect(after.status).toMatchObject({ phase: 'Assigned', assignment: { agent: 'other-agent', attempt: 2 } });
    expect(after.status?.result).toBeUndefined();
  });

  it('on shutdown, lets running tasks finish within the grace, then hands the rest back', async () => {
    const { runner } = await runnerFor('leaving', ['sh', '-c', 'sleep 600'], 2);
    await assign('endless', 'leaving');
    await waitFor('Running', phaseOf('endless', 'Running'));
    await runner.shutdown(200);
    const back = await task('endless');
    expect(back.status?.phase).toBe('Pending');
    expect(back.status?.assignment).toBeUndefined();
    expect(back.status?.history?.at(-1)).toMatchObject({ outcome: 'Lost' });
    // And it takes nothing new.
    await assign('too-late', 'leaving');
    runner.poke();
    expect((await task('too-late')).status?.phase).toBe('Assigned');
  });
});
