import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import { systemClock } from '../../../operator/src/runtime/clock.ts';
import { isNotFound } from '../../../operator/src/runtime/errors.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { Pods, collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { Heartbeat } from '../../../runner/heartbeat.ts';
import { installCrds } from '../../support/crds.ts';
import { agentClient } from '../../support/identities.ts';
import { agentKubeconfig, useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { OperatorProcess } from '../../support/operator-process.ts';
import { RunnerProcess } from '../../support/runner-process.ts';
import { metricValue, testClient, testLogger } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
// Recovery must be bounded by the heartbeat settings, never by a task's timeoutSeconds.
const HEARTBEAT = { intervalSeconds: 1, timeoutSeconds: 30 };
const RECOVERY_BOUND_MS = 3 * HEARTBEAT.timeoutSeconds * 1000;

type Condition = { type: string; status: string; reason: string; message: string };
type TaskObj = KubeObject & {
  status?: {
    phase?: string;
    assignment?: { agent: string; attempt: number; assignedAt: string; claimedBy?: string };
    attempts?: number;
    startedAt?: string;
    completedAt?: string;
    history?: { agent: string; outcome: string; reason?: string; time: string }[];
    result?: { output?: string };
    conditions?: Condition[];
  };
};

/** What happened when, as seen by the test: its own steps and each change of one Task. */
class Timeline {
  private readonly entries: [number, string][] = [];

  add(what: string, at = Date.now()): void {
    this.entries.push([at, what]);
  }

  /** Polls the task and records each change of its phase, attempt, claimer or last history entry. */
  follow(read: () => Promise<TaskObj>): { stop(): Promise<void> } {
    const stop = new AbortController();
    const loop = (async (): Promise<void> => {
      let last = '';
      while (!stop.signal.aborted) {
        const t = await read();
        const s = t.status;
        const h = s?.history?.at(-1);
        const now = `${s?.phase ?? 'new'} (attempt ${s?.assignment?.attempt ?? '-'}${s?.assignment?.claimedBy ? `, claimed by ${s.assignment.claimedBy}` : ''})${h ? `; last attempt ${h.outcome}${h.reason ? `: ${h.reason}` : ''}` : ''}`;
        if (now !== last) this.add(now);
        last = now;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    return {
      stop: async () => {
        stop.abort();
        await loop;
      },
    };
  }

  print(): string {
    const sorted = [...this.entries].sort((a, b) => a[0] - b[0]);
    const t0 = sorted[0]?.[0] ?? 0;
    return sorted.map(([at, what]) => `  +${((at - t0) / 1000).toFixed(2)}s  ${what}`).join('\n');
  }
}

// A runner process of a kubernetes agent killed with SIGKILL while it holds tasks: what
// happens when its container restarts in place, it is OOM-killed, or it crashes. The
// runners are the real `node runner/main.ts`, with the agent's own ServiceAccount token;
// the agents' Pods run on kwok nodes, so the runner runs beside them, as the demo does.

/** Where a run stuck, should it: each task's phase, attempt and history, and the runner's last lines. */
function describeRun(all: readonly TaskObj[], runner: RunnerProcess): string {
  const tasks = all.map(
    (t) =>
      `${t.metadata.name ?? ''} ${t.status?.phase ?? '-'} ${JSON.stringify(t.status?.assignment ?? {})} ${JSON.stringify(t.status?.history ?? [])}`,
  );
  return [...tasks, 'runner:', ...runner.logs.slice(-25).map((l) => JSON.stringify(l)), ...runner.stderr.slice(-5)].join('\n');
}

describe('a runner that restarts while it holds tasks', () => {
  beforeAll(installCrds);
  const ns = useNamespace('runner-restart-');
  let operator: RunningOperator | undefined;
  const runners: RunnerProcess[] = [];
  const heartbeats: AbortController[] = [];
  beforeAll(async () => {
    operator = await startOperator(ns.name, { AO_TASK_REASSIGN_DELAY: '1' });
  });
  afterEach(async () => {
    for (const h of heartbeats.splice(0)) h.abort();
    await Promise.all(runners.splice(0).map((r) => r.stop()));
  });
  afterAll(async () => {
    await operator?.stop();
  });

  const task = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const tasks = (names: readonly string[]): Promise<TaskObj[]> => Promise.all(names.map(task));

  /** An Agent whose Pod runs on kwok; resolves with its runner's environment once the Pod runs. */
  async function agent(
    name: string,
    maxConcurrentTasks: number,
    heartbeat = HEARTBEAT,
  ): Promise<{ env: Record<string, string>; uid: string; dir: string }> {
    const created = await client.request<KubeObject>('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name },
        spec: {
          capabilities: [name],
          runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
          maxConcurrentTasks,
          heartbeat,
        },
      },
    });
    await waitFor(`the Pod of ${name} to run`, async () => {
      const pod = await client.request<KubeObject>('GET', objectPath(Pods, ns.name, `agent-${name}`)).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      return (pod?.status as { phase?: string } | undefined)?.phase === 'Running' ? true : undefined;
    });
    const dir = await mkdtemp(path.join(tmpdir(), `${name}-`));
    // Each execution logs its start, then waits for the gate; its output names its attempt and the runner's life.
    const command = `echo "$TASK_NAME $TASK_ATTEMPT $LIFE" >> ${dir}/started; while [ ! -e ${dir}/gate ]; do sleep 0.05; done; echo "$TASK_NAME: attempt $TASK_ATTEMPT, runner life $LIFE"`;
    return {
      uid: created.metadata.uid ?? '',
      dir,
      env: {
        AGENT_NAME: name,
        AGENT_NAMESPACE: ns.name,
        KUBECONFIG: await agentKubeconfig(ns.name, name),
        RUNNER_COMMAND: command,
      },
    };
  }

  function startRunner(env: Record<string, string>, life: number): RunnerProcess {
    const r = new RunnerProcess({ ...env, LIFE: String(life) });
    runners.push(r);
    return r;
  }

  async function createTasks(capability: string, names: readonly string[]): Promise<void> {
    for (const name of names) {
      await client.request('POST', collectionPath(Tasks, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Task',
          metadata: { name },
          spec: { requiredCapabilities: [capability], input: name, timeoutSeconds: 3600 },
        },
      });
    }
  }

  const running = (names: readonly string[], count: number) => async (): Promise<TaskObj[] | undefined> => {
    const r = (await tasks(names)).filter((t) => t.status?.phase === 'Running' && t.status.assignment?.claimedBy);
    return r.length === count ? r : undefined;
  };
  /**
   * A runner process that only heartbeats (under the agent's own identity) and hands
   * nothing back: it keeps the agent healthy, so only the operator's rules can act.
   */
  async function holdLease(agent: string, uid: string, identity: string): Promise<AbortController> {
    const heartbeat = new Heartbeat({
      client: await agentClient(client, inject('kubeconfig'), ns.name, agent),
      namespace: ns.name,
      agent,
      agentUid: uid,
      identity,
      intervalMs: 1000,
      timeoutMs: 60_000,
      clock: systemClock,
      logger: testLogger(),
    });
    const beat = new AbortController();
    heartbeats.push(beat);
    void heartbeat.run(beat.signal).catch(() => undefined);
    return beat;
  }

  const firstLost = (name: string) => async (): Promise<TaskObj | undefined> => {
    const t = await task(name);
    return t.status?.history?.some((h) => h.outcome === 'Lost') ? t : undefined;
  };

  /** The lease holder steps aside, a real runner takes over: the task ends after one lost attempt. */
  async function finishWithNewRunner(beat: AbortController, env: Record<string, string>, dir: string, name: string): Promise<TaskObj> {
    beat.abort();
    await writeFile(path.join(dir, 'gate'), '');
    startRunner(env, 2);
    const done = await waitFor(
      `${name} to succeed`,
      async () => {
        const t = await task(name);
        return t.status?.phase === 'Succeeded' ? t : undefined;
      },
      { timeoutMs: RECOVERY_BOUND_MS },
    );
    expect(done.status?.history?.map((h) => h.outcome)).toEqual(['Lost', 'Succeeded']);
    return done;
  }

  const identityOf = async (runner: RunnerProcess): Promise<string> =>
    String((await runner.waitForLog('runner ready', (l) => l.msg === 'runner ready')).identity);
  const startsOf = async (dir: string): Promise<string[]> => (await readFile(path.join(dir, 'started'), 'utf8')).trim().split('\n').sort();

  it('hands back the attempts of the killed process, runs each task to exactly one end, and never writes the dead attempt', async () => {
    const { env, dir } = await agent('phoenix', 2);
    const first = startRunner(env, 1);
    const firstIdentity = await identityOf(first);
    const names = ['t1', 't2', 't3', 't4', 't5'];
    await createTasks('phoenix', names);
    const held = await waitFor('two tasks Running under the first process', running(names, 2));
    const heldNames = held.map((t) => t.metadata.name ?? '').sort();
    for (const t of held) expect(t.status?.assignment).toMatchObject({ agent: 'phoenix', attempt: 1, claimedBy: firstIdentity });
    // Claimed first, then started: kill it only once both commands run.
    await waitFor('both commands to have started', async () => ((await startsOf(dir).catch(() => [])).length === 2 ? true : undefined));

    const sampleName = heldNames[0] ?? '';
    const timeline = new Timeline();
    const watching = timeline.follow(() => task(sampleName));
    first.kill('SIGKILL');
    timeline.add('runner SIGKILLed (its task commands with it)');
    await first.exited;
    const second = startRunner(env, 2);
    const secondIdentity = await identityOf(second);
    timeline.add(`new runner ${secondIdentity} ready`, Number((await second.waitForLog('ready', (l) => l.msg === 'runner ready')).time));
    expect(secondIdentity).not.toBe(firstIdentity);

    // Both lost attempts go back to the queue, within a bound the heartbeat settings set
    // (the tasks' timeoutSeconds is an hour).
    const handedBack = await waitFor(
      'the lost attempts to be handed back',
      async () => {
        const now = await tasks(heldNames);
        return now.every((t) => t.status?.history?.some((h) => h.outcome === 'Lost')) ? now : undefined;
      },
      { timeoutMs: RECOVERY_BOUND_MS },
    );
    for (const t of handedBack) {
      const lost = t.status?.history?.[0];
      expect(lost).toMatchObject({ agent: 'phoenix', outcome: 'Lost' });
      expect(lost?.reason).toContain(`attempt 1 was claimed by ${firstIdentity}`);
    }

    // The queue moves again: the new process takes work up to its capacity.
    await waitFor(
      'two tasks Running under the new process',
      async () => {
        const r = (await tasks(names)).filter((t) => t.status?.phase === 'Running' && t.status.assignment?.claimedBy === secondIdentity);
        return r.length === 2 ? r : undefined;
      },
      { timeoutMs: RECOVERY_BOUND_MS },
    );
    await writeFile(path.join(dir, 'gate'), '');
    const done = await waitFor(
      'every task to succeed',
      async () => {
        const all = await tasks(names);
        return all.every((t) => t.status?.phase === 'Succeeded') ? all : undefined;
      },
      { timeoutMs: RECOVERY_BOUND_MS, describe: async () => describeRun(await tasks(names), second) },
    );
    await watching.stop();
    for (const t of done) {
      const name = t.metadata.name ?? '';
      const lost = heldNames.includes(name);
      expect(
        t.status?.history?.map((h) => h.outcome),
        describeRun(done, second),
      ).toEqual(lost ? ['Lost', 'Succeeded'] : ['Succeeded']);
      // The result is the live attempt's: the dead one never wrote (its process died with the runner).
      expect(t.status?.result?.output).toBe(`${name}: attempt ${lost ? 2 : 1}, runner life 2\n`);
    }
    // Counted once each, whoever wrote them.
    const lostMetric = async (): Promise<number> =>
      operator ? metricValue(operator.manager.metrics, 'agent_orchestrator_task_attempts_lost_total', { namespace: ns.name }) : 0;
    expect(await waitFor('the lost attempts counted', async () => ((await lostMetric()) >= 2 ? lostMetric() : undefined))).toBe(2);
    // Each lost task started twice (once per life), every other task once.
    const starts = await startsOf(dir);
    for (const name of names) {
      const mine = starts.filter((s) => s.startsWith(`${name} `));
      expect(mine).toEqual(heldNames.includes(name) ? [`${name} 1 1`, `${name} 2 2`] : [`${name} 1 2`]);
    }
    console.log(`recovery timeline of task ${sampleName} (as this test saw it):\n${timeline.print()}`);
  });

  it('the operator hands back an attempt when another process holds the Lease, though that process never hands anything back', async () => {
    const { env, dir, uid } = await agent('switched', 1, { intervalSeconds: 1, timeoutSeconds: 60 });
    const first = startRunner(env, 1);
    const firstIdentity = await identityOf(first);
    await createTasks('switched', ['s1']);
    await waitFor('s1 Running', running(['s1'], 1));
    first.kill('SIGKILL');
    await first.exited;
    // A successor took the Lease and did nothing else: only the holder's change says the attempt is lost.
    const beat = await holdLease('switched', uid, 'switched_successor');
    const back = await waitFor('the operator to hand s1 back', firstLost('s1'), { timeoutMs: RECOVERY_BOUND_MS });
    expect(back.status?.history?.[0]?.reason).toBe(
      `the runner of agent switched restarted: attempt 1 was claimed by ${firstIdentity}, the agent's Lease is now held by switched_successor`,
    );
    const event = await waitFor('the HandedBack Event', async () => {
      const events = await client.request<{ items: { reason?: string; note?: string; regarding?: { name?: string } }[] }>(
        'GET',
        `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`,
      );
      return events.items.find((e) => e.regarding?.name === 's1' && e.reason === 'HandedBack');
    });
    expect(event.note).toContain('the runner of agent switched restarted');

    const done = await finishWithNewRunner(beat, env, dir, 's1');
    expect(done.status?.result?.output).toBe('s1: attempt 2, runner life 2\n');
  });

  it('the operator hands back an attempt started before the agent’s container restarted (restartCount grew), whatever the runner does', async () => {
    const { env, dir, uid } = await agent('rebooted', 1, { intervalSeconds: 1, timeoutSeconds: 60 });
    const first = startRunner(env, 1);
    const firstIdentity = await identityOf(first);
    await createTasks('rebooted', ['p1']);
    const [claimed] = await waitFor('p1 Running', running(['p1'], 1));
    first.kill('SIGKILL');
    await first.exited;
    // A runner that keeps the same Lease holder and hands nothing back (an image from
    // before runner identities): only the container's restart tells the attempt is lost.
    const beat = await holdLease('rebooted', uid, firstIdentity);
    // What the kubelet reports of a container restarted in place, a second or more after the claim.
    const claimedAt = Date.parse(claimed?.status?.startedAt ?? '');
    await waitFor('the clock to pass the second of the claim', () => (Date.now() >= claimedAt + 1000 ? true : undefined));
    const restartedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const pod = await client.request<KubeObject>('GET', objectPath(Pods, ns.name, 'agent-rebooted'));
    const statuses = (pod.status as { containerStatuses: Record<string, unknown>[] }).containerStatuses;
    await client.request('PUT', `${objectPath(Pods, ns.name, 'agent-rebooted')}/status`, {
      body: {
        ...pod,
        status: {
          ...(pod.status as Record<string, unknown>),
          containerStatuses: statuses.map((c) => ({
            ...c,
            restartCount: 1,
            state: { running: { startedAt: restartedAt } },
            lastState: {
              terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: claimed?.status?.startedAt, finishedAt: restartedAt },
            },
          })),
        },
      },
    });
    const back = await waitFor('the operator to hand p1 back', firstLost('p1'), { timeoutMs: RECOVERY_BOUND_MS });
    expect(back.status?.history?.[0]?.reason).toBe(
      `the workload of agent rebooted restarted at ${restartedAt}, after attempt 1 started at ${claimed?.status?.startedAt ?? ''}`,
    );
    const agentObj = await client.request<KubeObject & { status?: { workload?: { startedAt?: string } } }>(
      'GET',
      objectPath(Agents, ns.name, 'rebooted'),
    );
    expect(agentObj.status?.workload?.startedAt).toBe(restartedAt);
    await finishWithNewRunner(beat, env, dir, 'p1');
  });
});

// The demo's failure as reported: runners and the operator killed while tasks run.
describe('a runner and the operator killed together mid-work', () => {
  beforeAll(installCrds);
  const ns = useNamespace('restart-all-');
  const processes: (RunnerProcess | OperatorProcess)[] = [];
  afterAll(async () => {
    await Promise.all(processes.splice(0).map((p) => p.stop()));
  });
  const operatorProcess = (): OperatorProcess => {
    const op = new OperatorProcess({ AO_WATCH_NAMESPACES: ns.name, AO_LEADER_ELECT: 'false', AO_TASK_REASSIGN_DELAY: '1' });
    processes.push(op);
    return op;
  };

  it('loses nothing and runs nothing twice', async () => {
    operatorProcess();
    await client.request('POST', collectionPath(Agents, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name: 'hydra' },
        spec: {
          capabilities: ['hydra'],
          runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
          maxConcurrentTasks: 2,
          heartbeat: HEARTBEAT,
        },
      },
    });
    await waitFor('the Pod of hydra to run', async () => {
      const pod = await client.request<KubeObject>('GET', objectPath(Pods, ns.name, 'agent-hydra')).catch(() => undefined);
      return (pod?.status as { phase?: string } | undefined)?.phase === 'Running' ? true : undefined;
    });
    const dir = await mkdtemp(path.join(tmpdir(), 'hydra-'));
    const env = {
      AGENT_NAME: 'hydra',
      AGENT_NAMESPACE: ns.name,
      KUBECONFIG: await agentKubeconfig(ns.name, 'hydra'),
      RUNNER_COMMAND: `echo "$TASK_NAME $TASK_ATTEMPT" >> ${dir}/started; while [ ! -e ${dir}/gate ]; do sleep 0.05; done; echo "$TASK_NAME: attempt $TASK_ATTEMPT"`,
    };
    const runner = (): RunnerProcess => {
      const r = new RunnerProcess(env);
      processes.push(r);
      return r;
    };
    runner();
    const names = Array.from({ length: 8 }, (_, i) => `h${i}`);
    for (const name of names) {
      await client.request('POST', collectionPath(Tasks, ns.name), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Task',
          metadata: { name },
          spec: { requiredCapabilities: ['hydra'], timeoutSeconds: 3600 },
        },
      });
    }
    await waitFor('two tasks Running, their commands started', async () => {
      const r = (await Promise.all(names.map(async (n) => client.request<TaskObj>('GET', objectPath(Tasks, ns.name, n))))).filter(
        (t) => t.status?.phase === 'Running',
      );
      const started = await readFile(path.join(dir, 'started'), 'utf8').catch(() => '');
      return r.length === 2 && started.trim().split('\n').length === 2 ? r : undefined;
    });

    for (const p of processes.splice(0)) p.kill('SIGKILL');
    const operator = operatorProcess();
    const second = runner();
    const state = async (): Promise<string> =>
      describeRun(await Promise.all(names.map(async (n) => client.request<TaskObj>('GET', objectPath(Tasks, ns.name, n)))), second);
    await waitFor(
      'the lost attempts handed back',
      async () => {
        const all = await Promise.all(names.map(async (n) => client.request<TaskObj>('GET', objectPath(Tasks, ns.name, n))));
        return all.filter((t) => t.status?.history?.some((h) => h.outcome === 'Lost')).length === 2 ? true : undefined;
      },
      { timeoutMs: RECOVERY_BOUND_MS },
    );
    await writeFile(path.join(dir, 'gate'), '');
    // The operator dies once more while the queue drains.
    await waitFor(
      'some tasks done',
      async () => {
        const all = await Promise.all(names.map(async (n) => client.request<TaskObj>('GET', objectPath(Tasks, ns.name, n))));
        return all.some((t) => t.status?.phase === 'Succeeded') ? true : undefined;
      },
      { describe: state },
    );
    operator.kill('SIGKILL');
    await operator.exited;
    operatorProcess();
    const done = await waitFor(
      'every task to succeed',
      async () => {
        const all = await Promise.all(names.map(async (n) => client.request<TaskObj>('GET', objectPath(Tasks, ns.name, n))));
        return all.every((t) => t.status?.phase === 'Succeeded') ? all : undefined;
      },
      { timeoutMs: RECOVERY_BOUND_MS },
    );
    const starts = (await readFile(path.join(dir, 'started'), 'utf8')).trim().split('\n');
    for (const t of done) {
      const name = t.metadata.name ?? '';
      const outcomes = t.status?.history?.map((h) => h.outcome) ?? [];
      expect(
        outcomes.filter((o) => o === 'Succeeded'),
        name,
      ).toHaveLength(1);
      expect(
        outcomes.filter((o) => o !== 'Lost' && o !== 'Succeeded'),
        name,
      ).toEqual([]);
      // One start per attempt: nothing ran twice within one attempt, and the last attempt's result stands.
      expect(
        starts.filter((l) => l.startsWith(`${name} `)),
        name,
      ).toHaveLength(outcomes.length);
      expect(t.status?.result?.output, name).toBe(`${name}: attempt ${outcomes.length}\n`);
    }
  });
});
