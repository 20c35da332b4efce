import { z } from 'zod';
import { definePlugin, type Intent, type NamespaceSnapshot } from '../../operator/src/framework/index.ts';
import { bottleneckOf, describeReport } from './bottleneck.ts';

export const CONDITION = 'Bottleneck';

export const performanceConfig = z
  .strictObject({
    periodSeconds: z.int().min(10).max(3600).default(60).describe('How often the bottleneck report is recomputed.'),
    minWaitSeconds: z.number().min(1).max(86400).default(10).describe('Tasks of a capability must wait this long on average for it to be a constraint.'),
    slowRatio: z.number().min(1.1).max(100).default(1.5).describe('Agents this many times slower than the fleet’s median on a kind of task are listed as slowest.'),
  })
  .describe('A bottleneck report in the policy status: the constraining queue, pools at their maximum, the slowest agents, a recommendation.');

function reportIntents(snapshot: NamespaceSnapshot, config: z.output<typeof performanceConfig>): Intent[] {
  const report = bottleneckOf(snapshot, config);
  const intents: Intent[] = [
    ...report.queues.map(
      (q): Intent => ({
        kind: 'metric',
        name: 'performance_queue_wait_seconds',
        help: 'Mean time the pending tasks of each capability have waited so far ("" for tasks without capabilities)',
        labels: { capability: q.capability },
        value: q.meanWaitS,
      }),
    ),
    ...(snapshot.policy?.spec.autoscaling?.pools ?? []).map(
      (p): Intent => ({
        kind: 'metric',
        name: 'performance_pool_at_max',
        help: 'Whether each autoscaling pool has as many agents as its maxAgents (1)',
        labels: { pool: p.name },
        value: report.poolsAtMax.some((x) => x.name === p.name) ? 1 : 0,
      }),
    ),
  ];
  const policy = snapshot.policy;
  if (policy === undefined) return intents;
  const target = { kind: 'OrchestratorPolicy', name: policy.metadata.name } as const;
  const condition = { type: CONDITION, ...describeReport(report, config) };
  intents.push({ kind: 'condition', target, condition });
  const previous = policy.status?.conditions?.find((c) => c.type === CONDITION);
  if (previous !== undefined && previous.reason !== condition.reason) {
    intents.push({ kind: 'event', target, type: condition.status === 'True' ? 'Warning' : 'Normal', reason: condition.reason, message: condition.message });
  }
  return intents;
}

/**
 * Performance: a bottleneck report per namespace (bottleneck.ts) in the policy's
 * Bottleneck condition, recomputed every periodSeconds; between two reports a tick
 * returns the last one, so the condition is not rewritten as every wait grows by a
 * second. The last report is kept in memory only as that throttle: after a restart the
 * first tick computes a new one from the API objects.
 */
export const performancePlugin = definePlugin({
  name: 'performance',
  config: performanceConfig,
  lifecycle: (config) => {
    const last = new Map<string, { at: number; intents: readonly Intent[] }>();
    return {
      onTick(snapshot) {
        const kept = last.get(snapshot.namespace);
        if (kept !== undefined && snapshot.now - kept.at < config.periodSeconds * 1000) {
          // Events are said once, when the report that changed the reason was made.
          return [...kept.intents.filter((i) => i.kind !== 'event'), { kind: 'requeue', afterMs: kept.at + config.periodSeconds * 1000 - snapshot.now }];
        }
        const intents = reportIntents(snapshot, config);
        last.set(snapshot.namespace, { at: snapshot.now, intents });
        return [...intents, { kind: 'requeue', afterMs: config.periodSeconds * 1000 }];
      },
    };
  },
});
