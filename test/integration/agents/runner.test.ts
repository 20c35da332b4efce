import { mkdir, writeFile } from 'node:fs/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, assignedTo } from '../../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import { isAlreadyExists } from '../../../operator/src/runtime/errors.ts';
import { Informer } from '../../../operator/src/runtime/cache/informer.ts';
import { systemClock } from '../../../operator/src/runtime/clock.ts';
import type { RestClient } from '../../../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { CommandExecutor } from '../../../runner/executors/command.ts';
import type { ExecutionResult, TaskInput } from '../../../runner/executors/executor.ts';
import { attemptKey, ProgressLines } from '../../../runner/progress.ts';
import { Heartbeat, LeaseTakenError, newRunnerIdentity } from '../../../runner/heartbeat.ts';
import { TaskRunner } from '../../../runner/task-runner.ts';
import { installCrds } from '../../support/crds.ts';
import { useNamespace } from '../../support/kube.ts';
import { testClient, testLogger } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);

type TaskObj = KubeObject & {
  status?: {
    phase?: string;
    assignment?: { agent: string; attempt: number; claimedBy?: string };
    history?: { outcome: string; reason?: string }[];
    result?: { output?: string };
    conditions?: { type: string; reason: string }[];
    progress?: { lines: string[]; updatedAt: string };
    usage?: { inputTokens: number; outputTokens: number; cachedTokens: number; durationMs: number };
  };
};

// The runner's task loop against the real API server: claims, fences, capacity, shutdown.
describe('the agent runner', () => {
  beforeAll(installCrds);
  const ns = useNamespace('runner-');
  const stops: AbortController[] = [];
  afterEach(() => {
    for (const s of stops.splice(0)) s.abort();
  });

  /** The Agent object the runner's Lease belongs to (no operator runs in this file). */
  async function agentObject(name: string): Promise<KubeObject> {
    return client
      .request<KubeObject>('POST', collectionPath(Agents, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Agent',
          metadata: { name },
          spec: { capabilities: ['work'], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' } },
        },
      })
      .catch(async (err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
        return client.request<KubeObject>('GET', objectPath(Agents, ns.name, name));
      });
  }

  interface TestRunner {
    runner: TaskRunner;
    heartbeat: Heartbeat;
    finished: ExecutionResult[];
    /** Stops heartbeats and task events, writes and releases nothing: the process died. */
    crash(): void;
    /** Settles when the heartbeat loop ends: rejected with LeaseTakenError when superseded. */
    beating: Promise<void>;
  }

  /** One runner process of `agent`: its own identity, its heartbeat, its task loop. */
  async function runnerFor(
    agent: string,
    command: string[],
    capacity = 1,
    progress?: ProgressLines,
    runnerClient: RestClient = client,
  ): Promise<TestRunner> {
    const owner = await agentObject(agent);
    const stop = new AbortController();
    stops.push(stop);
    const tasks = new Informer<KubeObject>({
      client,
      resource: Tasks,
      namespace: ns.name,
      fieldSelector: assignedTo(agent),
      logger: testLogger(),
    });
    const heartbeat = new Heartbeat({
      client,
      namespace: ns.name,
      agent,
      agentUid: owner.metadata.uid ?? '',
      identity: newRunnerIdentity(agent),
      intervalMs: 500,
      timeoutMs: 5000,
      clock: systemClock,
      logger: testLogger(),
    });
    const finished: ExecutionResult[] = [];
    const runner = new TaskRunner({
      client: runnerClient,
      tasks,
      agent,
      lease: heartbeat,
      executor: new CommandExecutor({
        command,
        env: { PATH: process.env.PATH ?? '' },
        ...(progress
          ? {
              onLine: (t: TaskInput, _stream: string, line: string) => {
                progress.push(attemptKey(t.namespace, t.name, t.attempt), line);
              },
            }
          : {}),
      }),
      capacity: () => capacity,
      onFinished: (r) => finished.push(r),
      clock: systemClock,
      logger: testLogger(),
      ...(progress ? { progress: { lines: progress, intervalMs: 200 } } : {}),
    });
    void tasks.run(stop.signal);
    const beating = heartbeat.run(stop.signal);
    beating.catch(() => {
      runner.abandon();
    });
    await Promise.all([tasks.waitForSync(), heartbeat.acquired()]);
    runner.poke();
    return {
      runner,
      heartbeat,
      finished,
      beating,
      crash: () => {
        stop.abort();
      },
    };
  }

  /** A Task assigned (by hand, as the task controller does) to `agent` for `attempt`. */
  async function assign(name: string, agent: string, attempt = 1, input = ''): Promise<TaskObj> {
    const created = await client.request<TaskObj>('POST', collectionPath(Tasks, ns.name), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { input } },
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

  it('hands back an attempt whose result write failed on a dead connection, once the API server answers', async () => {
    // The network, not the API server, fails: the result PUT never leaves the runner.
    const flaky = testClient();
    const request = flaky.request.bind(flaky);
    let dropped = 0;
    flaky.request = async (method: string, path: string, options?: Parameters<RestClient['request']>[2]) => {
      const phase = (options?.body as TaskObj | undefined)?.status?.phase;
      if (method === 'PUT' && path.endsWith('/tasks/lost-write/status') && phase === 'Succeeded' && dropped++ === 0)
        throw new Error('connect ECONNREFUSED 127.0.0.1:6443');
      return request(method, path, options);
    };
    const r = await runnerFor('unlucky', ['sh', '-c', 'echo done'], 1, undefined, flaky);
    await assign('lost-write', 'unlucky');
    // Left Running under a live runner that holds its Lease, nothing would ever finish it.
    const back = await waitFor('the attempt handed back', phaseOf('lost-write', 'Pending'));
    expect(dropped).toBe(1);
    expect(back.status?.history?.at(-1)).toMatchObject({ outcome: 'Lost' });
    expect(back.status?.history?.at(-1)?.reason).toMatch(
      new RegExp(`the result of attempt 1 could not be written .*; ${r.heartbeat.identity} hands it back`),
    );
    expect(r.finished).toEqual([]);
  });

  it('runs no more tasks at once than its capacity', async () => {
    // Each task blocks until its release file exists.
    const dir = `/tmp/runner-capacity-${Date.now()}`;
    await mkdir(dir, { recursive: true }); // before the command starts: a task is Running first
    await runnerFor(
      'narrow',
      ['sh', '-c', `mkdir -p ${dir}; touch ${dir}/$TASK_NAME.started; while [ ! -e ${dir}/$TASK_NAME.go ]; do sleep 0.05; done`],
      1,
    );
    for (const n of ['c1', 'c2', 'c3']) await assign(n, 'narrow');
    await waitFor('one task running', async () => {
      const running = (await Promise.all(['c1', 'c2', 'c3'].map(task))).filter((t) => t.status?.phase === 'Running');
      return running.length === 1 ? running[0] : undefined;
    });
    for (const n of ['c1', 'c2', 'c3']) {
      const running = (await Promise.all(['c1', 'c2', 'c3'].map(task))).filter((t) => t.status?.phase === 'Running');
      expect(running.length).toBeLessThanOrEqual(1);
      const current = running[0]?.metadata.name ?? n;
      await writeFile(`${dir}/${current}.go`, '');
      await waitFor(`${current} to finish`, phaseOf(current, 'Succeeded'));
    }
    for (const n of ['c1', 'c2', 'c3']) expect((await task(n)).status?.phase).toBe('Succeeded');
  });

  it('copies a running task’s last lines into status.progress, and leaves the final output to status.result', async () => {
    const dir = `/tmp/runner-progress-${Date.now()}`;
    await mkdir(dir, { recursive: true });
    await runnerFor(
      'chatty',
      [
        'sh',
        '-c',
        `for i in $(seq 1 12); do echo "step $i"; done; echo "warn" >&2; while [ ! -e ${dir}/go ]; do sleep 0.05; done; echo done`,
      ],
      1,
      new ProgressLines(),
    );
    await assign('talk', 'chatty');
    // The last ten lines, stderr included, while it runs.
    const running = await waitFor('progress in the status', async () => {
      const t = await task('talk');
      return t.status?.phase === 'Running' && t.status.progress?.lines.includes('warn') ? t : undefined;
    });
    expect(running.status?.progress?.lines).toEqual([
      'step 4',
      'step 5',
      'step 6',
      'step 7',
      'step 8',
      'step 9',
      'step 10',
      'step 11',
      'step 12',
      'warn',
    ]);
    await writeFile(`${dir}/go`, '');
    const done = await waitFor('Succeeded', phaseOf('talk', 'Succeeded'));
    expect(done.status?.progress).toBeUndefined();
    expect(done.status?.result?.output).toBe(`${Array.from({ length: 12 }, (_, i) => `step ${i + 1}`).join('\n')}\ndone\n`);
    expect(done.status?.usage).toMatchObject({ inputTokens: 0, outputTokens: 0, cachedTokens: 0 });
  });

  it('drops its result when the task was reassigned while it ran (the fence)', async () => {
    const dir = `/tmp/runner-fence-${Date.now()}`;
    // Made here, not by the command: the task is Running before the command has started.
    await mkdir(dir, { recursive: true });
    const { runner, finished } = await runnerFor('fenced', [
      'sh',
      '-c',
      `mkdir -p ${dir}; while [ ! -e ${dir}/go ]; do sleep 0.05; done; echo late result`,
    ]);
    await assign('stolen', 'fenced', 1);
    const running = await waitFor('Running', phaseOf('stolen', 'Running'));
    // The task controller gives attempt 2 to another agent (its heartbeat had expired, say).
    await client.request('PUT', `${objectPath(Tasks, ns.name, 'stolen')}/status`, {
      body: {
        ...running,
        status: { phase: 'Assigned', assignment: { agent: 'other-agent', attempt: 2, assignedAt: '2026-11-26T00:01:00Z' } },
      },
    });
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
  it('after a restart, hands back the Running attempts of the dead process, claims what is Assigned, and the dead attempt writes nothing', async () => {
    const dir = `/tmp/runner-restart-${Date.now()}`;
    await mkdir(dir, { recursive: true }); // before the command starts: a task is Running first
    // Each task blocks until its release file exists, then prints who ran it.
    const command = [
      'sh',
      '-c',
      `mkdir -p ${dir}; touch ${dir}/$TASK_NAME.$TASK_ATTEMPT.started; while [ ! -e ${dir}/$TASK_NAME.go ]; do sleep 0.05; done; echo "attempt $TASK_ATTEMPT"`,
    ];
    const first = await runnerFor('phoenix', command, 2);
    for (const n of ['r1', 'r2', 'r3']) await assign(n, 'phoenix');
    const running = await waitFor('two tasks Running under the first process', async () => {
      const all = await Promise.all(['r1', 'r2', 'r3'].map(task));
      const r = all.filter((t) => t.status?.phase === 'Running');
      return r.length === 2 ? r : undefined;
    });
    for (const t of running) expect(t.status?.assignment?.claimedBy).toBe(first.heartbeat.identity);
    const [held1, held2] = running.map((t) => t.metadata.name ?? '');
    const waitingName = ['r1', 'r2', 'r3'].find((n) => n !== held1 && n !== held2) ?? '';

    first.crash();
    const second = await runnerFor('phoenix', command, 2);
    expect(second.heartbeat.identity).not.toBe(first.heartbeat.identity);

    // The successor hands the dead process's attempts back, and claims the Assigned one.
    for (const name of [held1, held2]) {
      const back = await waitFor(`${name} handed back`, phaseOf(name ?? '', 'Pending'));
      expect(back.status?.assignment).toBeUndefined();
      expect(back.status?.history?.at(-1)?.outcome).toBe('Lost');
      expect(back.status?.history?.at(-1)?.reason).toContain(
        `attempt 1 was claimed by ${first.heartbeat.identity}, this runner is ${second.heartbeat.identity}`,
      );
      expect(back.status?.conditions?.find((c) => c.type === 'Scheduled')?.reason).toBe('HandedBack');
    }
    const claimed = await waitFor(`${waitingName} claimed by the new process`, phaseOf(waitingName, 'Running'));
    expect(claimed.status?.assignment?.claimedBy).toBe(second.heartbeat.identity);

    // The task controller's part, by hand: attempt 2 for the same agent.
    for (const name of [held1, held2]) {
      const t = await task(name ?? '');
      await client.request('PUT', `${objectPath(Tasks, ns.name, name ?? '')}/status`, {
        body: {
          ...t,
          status: { ...t.status, phase: 'Assigned', assignment: { agent: 'phoenix', attempt: 2, assignedAt: '2026-11-26T00:02:00Z' } },
        },
      });
    }
    for (const n of ['r1', 'r2', 'r3']) await writeFile(`${dir}/${n}.go`, '');
    for (const name of [held1, held2]) {
      const done = await waitFor(`${name} to succeed on attempt 2`, phaseOf(name ?? '', 'Succeeded'));
      expect(done.status?.result?.output).toBe('attempt 2\n');
      expect(done.status?.history?.map((h) => h.outcome)).toEqual(['Lost', 'Succeeded']);
    }
    await waitFor(`${waitingName} to succeed`, phaseOf(waitingName, 'Succeeded'));
    // The dead process's commands ended too (released above), and it wrote nothing.
    await waitFor('the dead process to be done', () => (first.runner.active() === 0 ? true : undefined));
    expect(first.finished).toEqual([]);
    for (const name of [held1, held2]) expect((await task(name ?? '')).status?.result?.output).toBe('attempt 2\n');
  });

  it('a process whose Lease another process took stops its work and writes nothing', async () => {
    const dir = `/tmp/runner-superseded-${Date.now()}`;
    await mkdir(dir, { recursive: true }); // before the command starts: a task is Running first
    const old = await runnerFor('twin', ['sh', '-c', `mkdir -p ${dir}; while [ ! -e ${dir}/go ]; do sleep 0.05; done; echo stale`]);
    await assign('contested', 'twin');
    const running = await waitFor('Running', phaseOf('contested', 'Running'));
    expect(running.status?.assignment?.claimedBy).toBe(old.heartbeat.identity);
    // Another process of the same agent takes the Lease (only its heartbeat runs here).
    const owner = await agentObject('twin');
    const successor = new Heartbeat({
      client,
      namespace: ns.name,
      agent: 'twin',
      agentUid: owner.metadata.uid ?? '',
      identity: newRunnerIdentity('twin'),
      intervalMs: 500,
      timeoutMs: 5000,
      clock: systemClock,
      logger: testLogger(),
    });
    const stop = new AbortController();
    stops.push(stop);
    void successor.run(stop.signal).catch(() => undefined);
    await successor.acquired();
    await expect(old.beating).rejects.toBeInstanceOf(LeaseTakenError);
    await waitFor('the old process to stop its task', () => (old.runner.active() === 0 ? true : undefined));
    const after = await task('contested');
    expect(after.status?.phase).toBe('Running');
    expect(after.status?.assignment?.claimedBy).toBe(old.heartbeat.identity);
    expect(after.status?.history ?? []).toEqual([]);
    expect(old.heartbeat.holds()).toBe(false);
    expect(await old.heartbeat.confirm()).toBe(false);
  });
});
