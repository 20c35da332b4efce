import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentKind, policyKind, taskKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet, type Behaviour } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Agents = resourceOfKind(agentKind);
const Policies = resourceOfKind(policyKind);

type Condition = { type: string; status: string; reason: string; message: string };
type Usage = {
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  model?: string;
  durationMs: number;
  cost?: number;
  currency?: string;
};
type TaskObj = KubeObject & { status?: { phase?: string; conditions?: Condition[]; usage?: Usage } };
type WithConditions = KubeObject & {
  status?: { conditions?: Condition[]; stats?: { usage?: { inputTokens: number; outputTokens: number; cachedTokens: number } } };
};

// Each task: 1,000 input tokens (200 of them cached) and 1,000 output tokens of model "sim".
const metered: Behaviour = async (task) => ({
  outcome: 'Succeeded',
  output: task.name,
  reason: 'exit code 0',
  exitCode: 0,
  usage: { inputTokens: 1000, cachedTokens: 200, outputTokens: 1000, model: 'sim' },
});

describe('accounting and budgets on the real plane', () => {
  beforeAll(installCrds);
  const ns = useNamespace('budget-');
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = new Fleet(client, ns.name);
    // 800 x 1000 + 200 x 100 + 1000 x 2000 per million: 2.82 EUR a task; the month's budget is 5.
    await fleet.policy({
      accounting: {
        currency: 'EUR',
        prices: [{ model: 'sim', inputPerMillion: 1000, cachedInputPerMillion: 100, outputPerMillion: 2000 }],
        budgets: [{ name: 'monthly', period: 'Month', maxCost: 5 }],
      },
    });
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });
    await fleet.agent('worker', { behaviour: metered });
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
  });

  const task = (name: string): Promise<TaskObj> => client.request('GET', objectPath(Tasks, ns.name, name));
  const succeeded = (name: string) => async (): Promise<TaskObj | undefined> => {
    const t = await task(name);
    return t.status?.phase === 'Succeeded' && t.status.usage?.cost !== undefined ? t : undefined;
  };
  const policyCondition = async (): Promise<Condition | undefined> =>
    (await client.request<WithConditions>('GET', objectPath(Policies, ns.name, 'default'))).status?.conditions?.find(
      (c) => c.type === 'BudgetAvailable-monthly',
    );
  const held = async (): Promise<Condition | undefined> =>
    (await client.request<WithConditions>('GET', objectPath(Agents, ns.name, 'worker'))).status?.conditions?.find(
      (c) => c.type === 'BudgetExhausted',
    );
  const events = async (reason: string): Promise<string[]> => {
    const list = await client.request<ObjectList<KubeObject & { reason?: string; note?: string; message?: string }>>(
      'GET',
      `/api/v1/namespaces/${ns.name}/events`,
    );
    return list.items.filter((e) => e.reason === reason).map((e) => e.message ?? e.note ?? '');
  };

  it('records each task’s tokens and cost, holds new tasks once the budget is spent, and lets them run when it is raised', async () => {
    await fleet.task('first');
    const first = await waitFor('first priced', succeeded('first'), { timeoutMs: 60_000 });
    expect(first.status?.usage).toMatchObject({
      inputTokens: 1000,
      outputTokens: 1000,
      cachedTokens: 200,
      model: 'sim',
      cost: 2.82,
      currency: 'EUR',
    });
    expect(
      await waitFor('within budget', async () => ((await policyCondition())?.status === 'True' ? policyCondition() : undefined)),
    ).toMatchObject({
      reason: 'WithinBudget',
      message: expect.stringMatching(/^56% of 5 EUR spent this month \(\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d UTC\)$/) as string,
    });

    // The second task takes the month's spend to 5.64 of 5: the budget is spent.
    await fleet.task('second');
    await waitFor('second priced', succeeded('second'), { timeoutMs: 60_000 });
    const spent = await waitFor('budget spent', async () => {
      const c = await policyCondition();
      return c?.reason === 'Exhausted' ? c : undefined;
    });
    expect(spent.message).toMatch(
      /^5 EUR this month .* spent \(112%\): new tasks wait until \d{4}-\d\d-\d\dT00:00:00Z or a higher limit in spec\.accounting\.budgets; running tasks finish$/,
    );
    await waitFor('the agent held', async () => ((await held())?.status === 'True' ? true : undefined));
    expect(await events('BudgetExhausted')).toHaveLength(1);

    // Nothing of it lives in the operator: a new one keeps the hold, with no second Event.
    await operator?.stop();
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });

    // A new task waits and says why.
    await fleet.task('third');
    const waiting = await waitFor('third to say why it waits', async () => {
      const c = (await task('third')).status?.conditions?.find((x) => x.type === 'Scheduled');
      return c?.status === 'False' ? c : undefined;
    });
    expect(waiting.message).toBe(
      "0/1 agents can run it: 1 the namespace's budget is spent (the policy's BudgetAvailable conditions say which and until when) (budget)",
    );

    // A higher limit: the hold is lifted and the task runs.
    await client.request('PATCH', objectPath(Policies, ns.name, 'default'), {
      contentType: 'application/merge-patch+json',
      body: { spec: { accounting: { budgets: [{ name: 'monthly', period: 'Month', maxCost: 50 }] } } },
    });
    await waitFor('third done', succeeded('third'), { timeoutMs: 60_000 });
    expect((await held())?.status).toBe('False');
    expect(await events('BudgetExhausted')).toHaveLength(1);
    expect(await waitFor('renewed', async () => ((await events('BudgetRenewed')).length === 1 ? true : undefined))).toBe(true);
    const totals = await waitFor('the agent’s totals', async () => {
      const u = (await client.request<WithConditions>('GET', objectPath(Agents, ns.name, 'worker'))).status?.stats?.usage;
      return u?.inputTokens === 3000 ? u : undefined;
    });
    expect(totals).toEqual({ inputTokens: 3000, outputTokens: 3000, cachedTokens: 600 });

    // Counted once, by the operator that recorded the end: the new one saw only the third.
    const cost = await operator.manager.metrics.registry.getSingleMetric('agent_orchestrator_task_cost_total')?.get();
    expect(cost?.values.find((v) => v.labels.namespace === ns.name)?.value).toBeCloseTo(2.82, 6);
  });
});
