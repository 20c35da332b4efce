import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePlugin } from '../../../operator/src/framework/plugin.ts';
import type { KubeObject, ObjectList } from '../../../operator/src/runtime/rest/object.ts';
import { installCrds } from '../../support/crds.ts';
import { Fleet } from '../../support/fleet.ts';
import { useNamespace } from '../../support/kube.ts';
import { startOperator, type RunningOperator } from '../../support/operator.ts';
import { testClient } from '../../support/runtime.ts';
import { waitFor } from '../../support/wait.ts';

const client = testClient();
type Event = KubeObject & { reason?: string; note?: string; regarding?: { kind?: string; name?: string } };

// A plugin that says, on its agent, how each attempt ended: onTaskOutcome's verdict is
// carried out by the host like any intent.
const outcomes = definePlugin({
  name: 'outcomes',
  config: z.strictObject({}),
  lifecycle: () => ({
    onTaskOutcome: ({ task, agent, entry }) =>
      agent
        ? [
            {
              kind: 'event',
              target: { kind: 'Agent', name: agent.metadata.name },
              type: 'Normal',
              reason: 'AttemptEnded',
              message: `${task.metadata.name}: ${entry.outcome}`,
            },
          ]
        : [],
  }),
});

describe('lifecycle points', () => {
  beforeAll(installCrds);
  const ns = useNamespace('plugin-points-');
  let operator: RunningOperator | undefined;
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = new Fleet(client, ns.name);
    operator = await startOperator(ns.name, { AO_KUBE_API_QPS: '200', AO_KUBE_API_BURST: '400' }, [outcomes]);
  });
  afterAll(async () => {
    fleet.stop();
    await operator?.stop();
  });

  it('calls onTaskOutcome once per ended attempt, with the task, its agent and the history entry', async () => {
    await fleet.agent('worker', { capabilities: ['work'], maxConcurrentTasks: 2 });
    await Promise.all([fleet.task('one'), fleet.task('two')]);
    const events = await waitFor('an AttemptEnded Event per task', async () => {
      const list = await client.request<ObjectList<Event>>('GET', `/apis/events.k8s.io/v1/namespaces/${ns.name}/events`);
      const ended = list.items.filter((e) => e.reason === 'AttemptEnded');
      return ended.length >= 2 ? ended : undefined;
    });
    expect(events.map((e) => e.regarding?.name)).toEqual(['worker', 'worker']);
    expect(events.map((e) => e.note).sort()).toEqual(['one: Succeeded (plugin outcomes)', 'two: Succeeded (plugin outcomes)']);
  });
});
