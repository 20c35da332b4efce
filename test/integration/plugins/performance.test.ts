import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyKind } from '../../../operator/src/api/kinds.ts';
import type { KubeObject } from '../../../operator/src/runtime/rest/object.ts';
import { objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet, hang } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Policies = resourceOfKind(policyKind);
type Condition = { type: string; status: string; reason: string; message: string };

describe('performance plugin on the real plane', () => {
  beforeAll(installCrds);
  const ns = useNamespace('perf-');
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = new Fleet(client, ns.name);
    await fleet.policy({ plugins: { performance: { minWaitSeconds: 1, periodSeconds: 10 } } });
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '500', AO_KUBE_API_BURST: '1000' });
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
  });

  it('names the queue that waits, and what would help, in the policy’s Bottleneck condition', async () => {
    await fleet.agent('only', { capabilities: ['review'], behaviour: hang });
    await fleet.task('running', { requiredCapabilities: ['review'] });
    await waitFor(
      'the first task running',
      async () => {
        const t = await client.request<KubeObject & { status?: { phase?: string } }>(
          'GET',
          `/apis/agents.orchestrator.dev/v1alpha1/namespaces/${ns.name}/tasks/running`,
        );
        return t.status?.phase === 'Running' ? true : undefined;
      },
      { timeoutMs: 60_000 },
    );
    for (const n of ['w-0', 'w-1']) await fleet.task(n, { requiredCapabilities: ['review'] });
    const bottleneck = await waitFor(
      'the Bottleneck condition',
      async () => {
        const p = await client.request<KubeObject & { status?: { conditions?: Condition[] } }>(
          'GET',
          objectPath(Policies, ns.name, 'default'),
        );
        const c = p.status?.conditions?.find((x) => x.type === 'Bottleneck');
        return c?.status === 'True' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(bottleneck.reason).toBe('QueueConstrained');
    expect(bottleneck.message).toMatch(
      /^review tasks are the constraint: 2 wait, on average \d+s \(oldest \d+s\); 1 of 1 agents offering it Ready, 100% of their slots busy\. Recommendation: every agent offering review is busy \(100% of slots\): add agents with it, or a pool for it \(2 review tasks wait on average \d+s\)$/,
    );
  });
});
