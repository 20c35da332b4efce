import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet, hang, succeed, type Behaviour } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);

type Condition = { type: string; status: string; reason: string; message: string };
type TaskObj = KubeObject & {
  status?: {
    phase?: string;
    attempts?: number;
    assignment?: { agent: string; attempt: number };
    history?: { agent: string; outcome: string; reason?: string }[];
    conditions?: Condition[];
    result?: { output?: string };
  };
};

describe('task routing and lifecycle', () => {
  beforeAll(installCrds);
  const ns = useNamespace('tasks-');
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = new Fleet(client, ns.name);
    // Short retry backoffs and hand-back delays keep the test fast.
    await fleet.policy({ retries: { max: 1, backoffSeconds: 1 }, circuitBreaker: { failureThreshold: 2, cooldownSeconds: 3 } });
    operator = await startOperator(ns.name, {
      AO_KUBE_API_QPS: '500',
      AO_KUBE_API_BURST: '1000',
      AO_TASK_REASSIGN_DELAY: '1',
      AO_TASK_TIMEOUT_GRACE: '2',
    });
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
  });

  const task = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const phaseIs = (name: string, phase: string) => async (): Promise<TaskObj | undefined> => {
    const t = await task(name);
    return t.status?.phase === phase ? t : undefined;
  };
  const scheduled = (t: TaskObj): Condition | undefined => t.status?.conditions?.find((c) => c.type === 'Scheduled');
  const agentReady = (name: string) => async (): Promise<true | undefined> => {
    const a = await client.request<KubeObject>('GET', objectPath(Agents, ns.name, name));
    return (a.status as { phase?: string } | undefined)?.phase === 'Ready' ? true : undefined;
  };

  it('says why a task waits, and assigns it once a capable agent appears', async () => {
    await fleet.task('needs-gpu', { requiredCapabilities: ['gpu'] });
    const waiting = await waitFor('a reason', async () => {
      const t = await task('needs-gpu');
      return scheduled(t)?.status === 'False' ? t : undefined;
    });
    expect(scheduled(waiting)?.message).toMatch(
      /^(0\/\d+ agents can run it: \d+ lack capability gpu \(required-capabilities\)|no agents in namespace .*)$/,
    );
    await fleet.agent('gpu-box', { capabilities: ['gpu', 'work'] });
    await waitFor('the gpu agent Ready', agentReady('gpu-box'), { timeoutMs: 60_000 });
    // How soon the assignment follows is bench/routing.ts's to measure, not this test's.
    await waitFor(
      'assigned to the gpu agent',
      async () => ((await task('needs-gpu')).status?.assignment?.agent === 'gpu-box' ? true : undefined),
      { timeoutMs: 60_000 },
    );
    await waitFor('done', phaseIs('needs-gpu', 'Succeeded'));
  });

  it('wakes a sleeping agent that alone can run a task', async () => {
    await fleet.agent('night-owl', { capabilities: ['rare'], desiredState: 'Sleeping' });
    await fleet.task('rare-job', { requiredCapabilities: ['rare'] });
    await waitFor('the agent to be woken', async () => {
      const a = await client.request<KubeObject>('GET', objectPath(Agents, ns.name, 'night-owl'));
      return (a.spec as { desiredState?: string }).desiredState === 'Active' ? true : undefined;
    });
  });

  it('retries a failed attempt with backoff, then fails for good with the last reason', async () => {
    let calls = 0;
    await fleet.agent('flaky', {
      capabilities: ['flaky'],
      behaviour: async (t) => {
        calls++;
        return t.name === 'once' && calls > 1
          ? { outcome: 'Succeeded', output: 'second time lucky', reason: 'exit code 0', exitCode: 0 }
          : { outcome: 'Failed', output: '', reason: `exit code ${calls}`, exitCode: calls };
      },
    });
    await fleet.task('once', { requiredCapabilities: ['flaky'] });
    const once = await waitFor('retried to success', phaseIs('once', 'Succeeded'), { timeoutMs: 30_000 });
    expect(once.status?.history?.map((h) => h.outcome)).toEqual(['Failed', 'Succeeded']);
    expect(once.status?.attempts).toBe(2);

    await fleet.task('doomed', { requiredCapabilities: ['flaky'] });
    const doomed = await waitFor(
      'failed for good',
      async () => {
        const t = await task('doomed');
        return t.status?.conditions?.find((c) => c.type === 'Finished')?.reason === 'RetriesExhausted' ? t : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(doomed.status?.phase).toBe('Failed');
    expect(doomed.status?.history?.map((h) => h.outcome)).toEqual(['Failed', 'Failed']);
  });

  it('times an attempt out and records it', async () => {
    await fleet.agent('slowpoke', { capabilities: ['slow'], behaviour: hang });
    await fleet.task('too-slow', { requiredCapabilities: ['slow'], timeoutSeconds: 1, retries: { max: 0 } });
    const t = await waitFor(
      'timed out for good',
      async () => {
        const x = await task('too-slow');
        return x.status?.conditions?.find((c) => c.type === 'Finished')?.status === 'True' ? x : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(t.status?.phase).toBe('Failed');
    expect(t.status?.history?.map((h) => h.outcome)).toEqual(['TimedOut']);
  });

  it('hands the task of a crashed agent to another, with both attempts in history', async () => {
    const victim = await fleet.agent('victim', {
      capabilities: ['handover'],
      behaviour: hang,
      heartbeat: { intervalSeconds: 1, timeoutSeconds: 3 },
    });
    await waitFor('victim Ready', agentReady('victim'), { timeoutMs: 60_000 });
    await fleet.task('survivor', { requiredCapabilities: ['handover'] });
    await waitFor('running on the victim', async () => ((await task('survivor')).status?.phase === 'Running' ? true : undefined));
    await fleet.agent('rescuer', { capabilities: ['handover'] });
    await waitFor('rescuer Ready', agentReady('rescuer'), { timeoutMs: 60_000 });
    victim.kill();
    const done = await waitFor('finished elsewhere', phaseIs('survivor', 'Succeeded'), { timeoutMs: 60_000 });
    expect(done.status?.history?.map((h) => [h.agent, h.outcome])).toEqual([
      ['victim', 'Lost'],
      ['rescuer', 'Succeeded'],
    ]);
  });

  it('opens the circuit of an agent that keeps failing, routes around it, and closes it after a good trial', async () => {
    let healthy = false;
    await fleet.agent('breaker', {
      capabilities: ['circuit'],
      behaviour: async () =>
        healthy
          ? { outcome: 'Succeeded', output: 'ok', reason: 'exit code 0', exitCode: 0 }
          : { outcome: 'Failed', output: '', reason: 'exit code 1', exitCode: 1 },
    });
    await waitFor('breaker Ready', agentReady('breaker'), { timeoutMs: 60_000 });
    for (const n of ['c-1', 'c-2']) {
      await fleet.task(n, { requiredCapabilities: ['circuit'], retries: { max: 0 } });
      await waitFor(`${n} to fail`, phaseIs(n, 'Failed'), { timeoutMs: 30_000 });
    }
    const open = await waitFor('the circuit to open', async () => {
      const a = await client.request<KubeObject>('GET', objectPath(Agents, ns.name, 'breaker'));
      const c = (a.status as { conditions?: Condition[] }).conditions?.find((x) => x.type === 'CircuitOpen');
      return c?.status === 'True' && c.reason === 'TooManyFailures' ? c : undefined;
    });
    expect(open.message).toMatch(/2 consecutive failures/);
    // Routed around: a second agent that can do the work gets it.
    await fleet.agent('backup', { capabilities: ['circuit'] });
    await fleet.task('c-3', { requiredCapabilities: ['circuit'] });
    const c3 = await waitFor('c-3 done', phaseIs('c-3', 'Succeeded'), { timeoutMs: 60_000 });
    expect(c3.status?.assignment?.agent).toBe('backup');
    // After the cooldown one trial goes through; it succeeds and the circuit closes.
    healthy = true;
    await waitFor(
      'the circuit to close',
      async () => {
        const a = await client.request<KubeObject>('GET', objectPath(Agents, ns.name, 'breaker'));
        const c = (a.status as { conditions?: Condition[] }).conditions?.find((x) => x.type === 'CircuitOpen');
        if (c?.reason === 'HalfOpen' && !(await task('trial').catch(() => undefined)))
          await fleet.task('trial', { requiredCapabilities: ['circuit'], affinity: { agent: 'breaker' } });
        return c?.status === 'False' ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
  });
});

describe('workflows', () => {
  beforeAll(installCrds);
  const ns = useNamespace('workflow-');
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  const order: string[] = [];
  beforeAll(async () => {
    fleet = new Fleet(client, ns.name);
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });
    const record: Behaviour = async (t) => {
      order.push(t.name);
      return {
        outcome: 'Succeeded',
        output: `${t.name}:${Object.keys(t.dependencies ?? {})
          .sort()
          .join('+')}`,
        reason: 'exit code 0',
        exitCode: 0,
      };
    };
    for (const n of ['w1', 'w2', 'w3']) await fleet.agent(n, { maxConcurrentTasks: 4, behaviour: record });
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
  });
  const task = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));

  it('runs a DAG of 20 tasks in dependency order, each seeing its dependencies’ results', async () => {
    // Task i depends on up to two earlier tasks: a layered DAG with fan-in and fan-out.
    const deps = (i: number): string[] =>
      i < 3 ? [] : [`step-${Math.floor(i / 2)}`, `step-${i - 3}`].filter((d, j, a) => a.indexOf(d) === j);
    for (let i = 19; i >= 0; i--) await fleet.task(`step-${i}`, { dependsOn: deps(i) });
    await waitFor(
      'all 20 to succeed',
      async () => {
        const list = await client.request<ObjectList<TaskObj>>('GET', collectionPath(Tasks, ns.name));
        return list.items.filter((t) => t.metadata.name?.startsWith('step-') && t.status?.phase === 'Succeeded').length === 20
          ? true
          : undefined;
      },
      { timeoutMs: 90_000 },
    );
    for (let i = 0; i < 20; i++) {
      for (const d of deps(i)) expect(order.indexOf(d), `${d} before step-${i}`).toBeLessThan(order.indexOf(`step-${i}`));
      expect((await task(`step-${i}`)).status?.result?.output).toBe(`step-${i}:${[...deps(i)].sort().join('+')}`);
    }
  });

  it('reports a cycle and a missing dependency, and runs the latter once it exists', async () => {
    await fleet.task('chicken', { dependsOn: ['egg'] });
    await fleet.task('egg', { dependsOn: ['chicken'] });
    const cyc = await waitFor('the cycle', async () => {
      const t = await task('chicken');
      return t.status?.phase === 'Failed' ? t : undefined;
    });
    const finished = cyc.status?.conditions?.find((c) => c.type === 'Finished');
    expect(finished?.reason).toBe('DependencyCycle');
    expect(finished?.message).toMatch(/chicken → egg → chicken|egg → chicken → egg/);

    await fleet.task('late', { dependsOn: ['ghost'] });
    const blocked = await waitFor('blocked on a missing dependency', async () => {
      const t = await task('late');
      return t.status?.phase === 'Blocked' ? t : undefined;
    });
    expect(blocked.status?.conditions?.find((c) => c.type === 'Scheduled')).toMatchObject({ reason: 'DependencyMissing' });
    await fleet.task('ghost');
    await waitFor('late to run after ghost', async () => ((await task('late')).status?.phase === 'Succeeded' ? true : undefined));
  });

  it('fails the dependents of a task that failed for good, naming it', async () => {
    await fleet.task('broken', { requiredCapabilities: ['nobody-has-this'], cancel: true });
    await fleet.task('downstream', { dependsOn: ['broken'] });
    const down = await waitFor('downstream to fail', async () => {
      const t = await task('downstream');
      return t.status?.phase === 'Failed' ? t : undefined;
    });
    expect(down.status?.conditions?.find((c) => c.type === 'Finished')?.message).toBe('dependency broken was cancelled');
  });
});

describe('at scale', () => {
  beforeAll(installCrds);
  const ns = useNamespace('scale-');
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = new Fleet(client, ns.name);
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '1000', AO_KUBE_API_BURST: '2000' });
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
  });

  it('runs 1,000 tasks across 50 agents, each to Succeeded exactly once', async () => {
    for (let i = 0; i < 50; i++)
      await fleet.agent(`a-${i}`, { maxConcurrentTasks: 2, behaviour: succeed, heartbeat: { intervalSeconds: 5, timeoutSeconds: 30 } });
    // All of them able to work before the first task, so spreading the work is routing's doing.
    await waitFor(
      'all 50 agents Ready',
      async () => {
        const list = await client.request<ObjectList>('GET', collectionPath(Agents, ns.name));
        return list.items.filter((a) => (a.status as { phase?: string } | undefined)?.phase === 'Ready').length === 50 ? true : undefined;
      },
      { timeoutMs: 120_000 },
    );
    const names = Array.from({ length: 1000 }, (_, i) => `t-${i}`);
    for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => fleet.task(n)));
    const done = await waitFor(
      'every task to succeed',
      async () => {
        const list = await client.request<ObjectList<TaskObj>>('GET', collectionPath(Tasks, ns.name));
        return list.items.filter((t) => t.status?.phase === 'Succeeded').length === 1000 ? list.items : undefined;
      },
      { timeoutMs: 170_000, intervalMs: 1000 },
    );
    for (const t of done) {
      const successes = (t.status?.history ?? []).filter((h) => h.outcome === 'Succeeded');
      expect(successes, t.metadata.name).toHaveLength(1);
      expect(fleet.executions.get(t.metadata.name ?? '')).toHaveLength(1);
    }
    const used = new Set(done.map((t) => t.status?.assignment?.agent));
    expect(used.size).toBe(50);
  }, 240_000);
});

describe('two operator replicas', () => {
  beforeAll(installCrds);
  const ns = useNamespace('replicas-');
  const operators: RunningOperator[] = [];
  let fleet: Fleet;
  afterAll(async () => {
    fleet.stop();
    await Promise.all(operators.map((o) => o.stop()));
  });

  it('never assign a task twice, even across a change of leader', async () => {
    fleet = new Fleet(client, ns.name);
    const replica = (identity: string): Promise<RunningOperator> =>
      startOperator(ns.name, {
        AO_LEADER_ELECT: 'true',
        AO_LEADER_ELECTION_NAMESPACE: ns.name,
        AO_IDENTITY: identity,
        AO_LEADER_ELECT_LEASE_DURATION: '3',
        AO_LEADER_ELECT_RENEW_DEADLINE: '2',
        AO_LEADER_ELECT_RETRY_PERIOD: '1',
        AO_KUBE_API_QPS: '500',
        AO_KUBE_API_BURST: '1000',
      });
    operators.push(await replica('replica-a'), await replica('replica-b'));
    for (let i = 0; i < 10; i++) await fleet.agent(`r-${i}`, { maxConcurrentTasks: 2 });
    const names = Array.from({ length: 300 }, (_, i) => `job-${i}`);
    await Promise.all(names.slice(0, 150).map((n) => fleet.task(n)));
    // The leader stops mid-run (gracefully: it releases the lease); the other takes over.
    await waitFor(
      'some tasks done',
      async () => {
        const list = await client.request<ObjectList<TaskObj>>('GET', collectionPath(Tasks, ns.name));
        return list.items.filter((t) => t.status?.phase === 'Succeeded').length >= 30 ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    await operators[0]?.stop();
    await Promise.all(names.slice(150).map((n) => fleet.task(n)));
    const done = await waitFor(
      'every task to succeed',
      async () => {
        const list = await client.request<ObjectList<TaskObj>>('GET', collectionPath(Tasks, ns.name));
        return list.items.filter((t) => t.status?.phase === 'Succeeded').length === 300 ? list.items : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    for (const t of done) {
      expect(
        (t.status?.history ?? []).map((h) => h.outcome),
        t.metadata.name,
      ).toEqual(['Succeeded']);
      expect(t.status?.attempts, t.metadata.name).toBe(1);
      expect(fleet.executions.get(t.metadata.name ?? ''), t.metadata.name).toHaveLength(1);
    }
  }, 240_000);
});
