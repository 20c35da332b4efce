import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import type { ExecutionResult } from '../../../runner/executors/executor.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet, type Behaviour } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);

type Condition = { type: string; status: string; reason: string; message: string };
type AgentObj = KubeObject & {
  status?: {
    conditions?: Condition[];
    contextUsage?: { tokens: number; percent: number };
    stats?: { compactions?: number; usage?: { inputTokens: number; outputTokens: number } };
  };
};
type TaskObj = KubeObject & {
  status?: { phase?: string; conditions?: Condition[]; usage?: { inputTokens: number; outputTokens: number; model?: string } };
};

/**
 * An LLM agent whose context grows by 2,500 tokens a task; a task named hold-* runs
 * until `release` is called. Each task reports 2,000 input and 500 output tokens.
 */
function growing(context: { tokens: number }, held: Map<string, () => void>): Behaviour {
  return (task, _agent, signal) =>
    new Promise<ExecutionResult>((resolve) => {
      const done = (): void => {
        context.tokens += 2500;
        resolve({
          outcome: 'Succeeded',
          output: task.name,
          reason: 'exit code 0',
          exitCode: 0,
          usage: { inputTokens: 2000, outputTokens: 500, contextTokens: context.tokens, model: 'sim' },
        });
      };
      if (!task.name.startsWith('hold-')) {
        done();
        return;
      }
      held.set(task.name, done);
      signal.addEventListener('abort', () => {
        resolve({ outcome: 'Cancelled', output: '', reason: 'stopped' });
      });
    });
}

describe('context plugin on the real plane', () => {
  beforeAll(installCrds);
  const ns = useNamespace('context-');
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = new Fleet(client, ns.name);
    await fleet.policy({ plugins: { context: { compactTimeoutSeconds: 60, recycleTimeoutSeconds: 60 } } });
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
  });

  const agent = (name: string): Promise<AgentObj> => client.request('GET', objectPath(Agents, ns.name, name));
  const cycle = async (name: string): Promise<Condition | undefined> =>
    (await agent(name)).status?.conditions?.find((c) => c.type === 'ContextCompaction');
  const task = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const phase = (name: string, want: string) => async (): Promise<TaskObj | undefined> => {
    const t = await task(name);
    return t.status?.phase === want ? t : undefined;
  };
  const pinned = (agentName: string): Record<string, unknown> => ({ affinity: { agent: agentName } });
  const events = async (name: string): Promise<string[]> => {
    const list = await client.request<ObjectList<KubeObject & { reason?: string; involvedObject?: { name?: string } }>>(
      'GET',
      `/api/v1/namespaces/${ns.name}/events`,
    );
    return list.items.filter((e) => e.involvedObject?.name === name && e.reason?.startsWith('Context')).map((e) => e.reason ?? '');
  };

  it('drains an agent whose reported context crosses its threshold, has its runner compact, and routes to it again', async () => {
    const context = { tokens: 0 };
    const held = new Map<string, () => void>();
    let compactions = 0;
    await fleet.agent('llm', {
      maxConcurrentTasks: 2,
      context: { windowTokens: 10_000, compactAtPercent: 60 },
      behaviour: growing(context, held),
      compact: async () => {
        compactions++;
        const before = context.tokens;
        context.tokens = 400;
        return { outcome: 'Compacted', reason: `summarised ${before} -> 400 tokens`, contextTokens: 400 };
      },
    });

    // Usage rises with each task: 2,500, then 5,000 (50%).
    for (const name of ['t1', 't2']) {
      await fleet.task(name, pinned('llm'));
      await waitFor(`${name} done`, phase(name, 'Succeeded'), { timeoutMs: 60_000 });
    }
    // The runner writes the agent's usage after the task's result: wait for it, not for the task.
    const usage = await waitFor('the usage of t2 on the agent', async () => {
      const u = (await agent('llm')).status?.contextUsage;
      return u?.tokens === 5000 ? u : undefined;
    });
    expect(usage).toEqual({ tokens: 5000, percent: 50 });
    expect(await cycle('llm')).toBeUndefined();

    // A long task starts; a short one ends at 7,500 (75%) while it runs: the agent drains.
    await fleet.task('hold-1', pinned('llm'));
    await waitFor('hold-1 running', async () => (held.has('hold-1') ? true : undefined), { timeoutMs: 60_000 });
    await fleet.task('t3', pinned('llm'));
    await waitFor('t3 done', phase('t3', 'Succeeded'), { timeoutMs: 60_000 });
    const draining = await waitFor('llm draining', async () => {
      const c = await cycle('llm');
      return c?.reason === 'Draining' ? c : undefined;
    });
    expect(draining.message).toBe(
      'context at 75% of 10000 tokens (spec.context.compactAtPercent 60): no new tasks; the runner compacts once the 1 running task(s) finish',
    );

    // The cycle lives in the condition: a new operator, with nothing of the old one's memory, carries on.
    await operator?.stop();
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });

    // Nothing new reaches it while it drains, and the task says why.
    await fleet.task('t4', pinned('llm'));
    const waiting = await waitFor('t4 to say why it waits', async () => {
      const c = (await task('t4')).status?.conditions?.find((x) => x.type === 'Scheduled');
      return c?.status === 'False' ? c : undefined;
    });
    expect(waiting.message).toMatch(/compacting its context \(context\)/);
    expect(compactions).toBe(0);

    // The long task ends (10,000 tokens): the runner compacts, the agent takes work again.
    held.get('hold-1')?.();
    const compacted = await waitFor(
      'llm compacted',
      async () => {
        const c = await cycle('llm');
        return c?.status === 'False' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(compacted.reason).toBe('Compacted');
    expect(compacted.message).toBe('compacted by the agent: summarised 10000 -> 400 tokens; context now 4% of 10000 tokens');
    expect(compactions).toBe(1);
    const after = await agent('llm');
    expect(after.status?.stats?.compactions).toBe(1);
    await waitFor('t4 done', phase('t4', 'Succeeded'), { timeoutMs: 60_000 });

    // Every attempt's tokens are on its task and added up on the agent.
    expect((await task('t1')).status?.usage).toMatchObject({ inputTokens: 2000, outputTokens: 500, model: 'sim' });
    expect(
      (
        await waitFor('five tasks counted', async () => {
          const u = (await agent('llm')).status?.stats?.usage;
          return u?.inputTokens === 10_000 ? u : undefined;
        })
      ).outputTokens,
    ).toBe(2500);
    expect(
      await waitFor('both Events', async () => {
        const e = await events('llm');
        return e.length >= 2 ? e.sort() : undefined;
      }),
    ).toEqual(['ContextCompacted', 'ContextCompactionStarted']);
  });

  it('recycles an agent that cannot compact: its next runner starts fresh and says so', async () => {
    const context = { tokens: 0 };
    const sim = await fleet.agent('plain', {
      context: { windowTokens: 4000, compactAtPercent: 50 },
      behaviour: growing(context, new Map()),
    });
    await fleet.task('p1', pinned('plain'));
    await waitFor('p1 done', phase('p1', 'Succeeded'), { timeoutMs: 60_000 });
    // 2,500 of 4,000 (63%): the runner has no compact command; the operator restarts the agent.
    const recycling = await waitFor(
      'plain recycling',
      async () => {
        const c = await cycle('plain');
        return c?.reason === 'Recycling' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(recycling.message).toMatch(
      /^the agent cannot compact itself \(the executor has no compact command \(RUNNER_COMPACT_COMMAND\); no workspace to save a summary in\)/,
    );
    // Its workload restarts: here, a new runner process of the same agent.
    sim.kill();
    await fleet.attach('plain', { behaviour: growing({ tokens: 0 }, new Map()) });
    const recycled = await waitFor(
      'plain recycled',
      async () => {
        const c = await cycle('plain');
        return c?.status === 'False' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(recycled.reason).toBe('Recycled');
    expect((await agent('plain')).status?.contextUsage).toEqual({ tokens: 0, percent: 0 });
    await fleet.task('p2', pinned('plain'));
    await waitFor('p2 done', phase('p2', 'Succeeded'), { timeoutMs: 60_000 });
  });
});
