import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { API_VERSION } from '../../../operator/src/api/common.ts';
import { policyKind, taskKind } from '../../../operator/src/api/kinds.ts';
import { definePlugin } from '../../../operator/src/framework/plugin.ts';
import { success } from '../../../operator/src/framework/status.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../../../operator/src/runtime/rest/resource.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
const Tasks = resourceOfKind(taskKind);
const Policies = resourceOfKind(policyKind);
type Condition = { type: string; status: string; reason: string; message: string };
const conditionOf = (o: KubeObject, type: string): Condition | undefined =>
  (o.status as { conditions?: Condition[] } | undefined)?.conditions?.find((c) => c.type === type);

// A plugin that fails on purpose: its Filter throws for tasks named flaky-*, its onTick
// always throws. Everything else must go on as if it were not there.
const flaky = definePlugin({
  name: 'flaky',
  config: z.strictObject({}),
  routing: () => ({
    filter(task) {
      if (task.name.startsWith('flaky-')) throw new Error('cannot judge this one');
      return success;
    },
  }),
  lifecycle: () => ({
    onTick() {
      throw new Error('tick went wrong');
    },
  }),
});

describe('a plugin that throws', () => {
  beforeAll(installCrds);
  const ns = useNamespace('plugin-isolation-');
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = new Fleet(client, ns.name);
    await client.request('POST', collectionPath(Policies, ns.name), {
      body: {
        apiVersion: API_VERSION,
        kind: 'OrchestratorPolicy',
        metadata: { name: 'default' },
        spec: { circuitBreaker: { failureThreshold: 1, cooldownSeconds: 600 } },
      },
    });
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '200', AO_KUBE_API_BURST: '400' }, [flaky]);
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
  });

  it('degrades only itself: other tasks run, its tasks wait naming it, other lifecycle plugins work, the policy says PluginDegraded', async () => {
    await fleet.agent('worker', { capabilities: ['work'], maxConcurrentTasks: 4 });
    await Promise.all([fleet.task('plain-1'), fleet.task('plain-2'), fleet.task('flaky-1')]);

    for (const name of ['plain-1', 'plain-2']) {
      await waitFor(`${name} to succeed`, async () => {
        const t = await client.request<KubeObject>('GET', objectPath(Tasks, ns.name, name));
        return (t.status as { phase?: string } | undefined)?.phase === 'Succeeded' ? t : undefined;
      });
    }
    const held = await waitFor('flaky-1 to say why it waits', async () => {
      const t = await client.request<KubeObject>('GET', objectPath(Tasks, ns.name, 'flaky-1'));
      return conditionOf(t, 'Scheduled')?.message.startsWith('routing plugin flaky failed') ? t : undefined;
    });
    expect(conditionOf(held, 'Scheduled')?.message).toBe('routing plugin flaky failed: Filter threw: cannot judge this one');
    expect((held.status as { phase?: string }).phase).toBe('Pending');

    // The circuit breaker (another lifecycle plugin of the same namespace) still ticks: it
    // sets the worker's gauge (closed; an agent that never failed gets no condition).
    const circuit = await waitFor('the circuit breaker to tick for the worker', async () => {
      const metric = await operator?.manager.metrics.registry.getSingleMetric('agent_orchestrator_agent_circuit_state')?.get();
      return metric?.values.find((v) => v.labels.agent === 'worker')?.value;
    });
    expect(circuit).toBe(0);

    const policy = await waitFor('PluginDegraded on the policy', async () => {
      const p = await client.request<KubeObject>('GET', objectPath(Policies, ns.name, 'default'));
      return conditionOf(p, 'PluginDegraded')?.status === 'True' ? p : undefined;
    });
    const degraded = conditionOf(policy, 'PluginDegraded');
    expect(degraded?.reason).toBe('PluginFailed');
    expect(degraded?.message).toMatch(/^flaky \((Filter|Lifecycle)\): /);
    expect(conditionOf(policy, 'Ready')?.status).toBe('True');

    // Both of its failures were contained and counted: the Filter's and the tick's.
    const failures = async (point: string): Promise<number> => {
      const metric = await operator?.manager.metrics.registry.getSingleMetric('agent_orchestrator_plugin_failures_total')?.get();
      return metric?.values.find((v) => v.labels.plugin === 'flaky' && v.labels.extension_point === point)?.value ?? 0;
    };
    for (const point of ['Filter', 'Lifecycle']) {
      await waitFor(`a counted ${point} failure of flaky`, async () => ((await failures(point)) > 0 ? true : undefined));
    }

    const events = await waitFor('a PluginDegraded Event', async () => {
      const list = await client.request<ObjectList<KubeObject & { reason?: string; note?: string; regarding?: { name?: string } }>>(
        'GET',
        `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`,
      );
      const found = list.items.filter((e) => e.reason === 'PluginDegraded' && e.regarding?.name === 'default');
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]?.note).toContain('flaky');
  });
});
