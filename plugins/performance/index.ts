import { z } from 'zod';
import { definePlugin, type AgentObject, type Intent, type NamespaceSnapshot } from '../../operator/src/framework/index.ts';
import { bottleneckOf, describeReport } from './bottleneck.ts';
import { pressureOf } from './pressure.ts';

export const CONDITION = 'Bottleneck';
export const PRESSURE_CONDITION = 'ResourcePressure';

export const performanceConfig = z
  .strictObject({
    periodSeconds: z.int().min(10).max(3600).default(60).describe('How often the bottleneck report is recomputed.'),
    minWaitSeconds: z
      .number()
      .min(1)
      .max(86400)
      .default(10)
      .describe('Tasks of a capability must wait this long on average for it to be a constraint.'),
    slowRatio: z
      .number()
      .min(1.1)
      .max(100)
      .default(1.5)
      .describe('Agents this many times slower than the fleet’s median on a kind of task are listed as slowest.'),
    memoryPercent: z.int().min(1).max(100).default(90).describe('An agent using this share of its memory limit is under ResourcePressure.'),
    cpuPercent: z.int().min(1).max(100).default(90).describe('An agent using this share of its CPU limit is under ResourcePressure.'),
    oomWindowMinutes: z
      .int()
      .min(1)
      .max(1440)
      .default(60)
      .describe('An OOM kill keeps the agent under ResourcePressure (OOMKilled) this long.'),
  })
  .describe(
    'A bottleneck report in the policy status: the constraining queue, pools at their maximum, the slowest agents, a recommendation.',
  );

function reportIntents(snapshot: NamespaceSnapshot, config: z.output<typeof performanceConfig>): Intent[] {
  const report = bottleneckOf(snapshot, config);
  const intents: Intent[] = [
    ...report.queues.map((q): Intent => ({
      kind: 'metric',
      name: 'performance_queue_wait_seconds',
      help: 'Mean time the pending tasks of each capability have waited so far ("" for tasks without capabilities)',
      labels: { capability: q.capability },
      value: q.meanWaitS,
    })),
    ...(snapshot.policy?.spec.autoscaling?.pools ?? []).map((p): Intent => ({
      kind: 'metric',
      name: 'performance_pool_at_max',
      help: 'Whether each autoscaling pool has as many agents as its maxAgents (1)',
      labels: { pool: p.name },
      value: report.poolsAtMax.some((x) => x.name === p.name) ? 1 : 0,
    })),
  ];
  intents.push(...snapshot.agents.flatMap((a) => agentIntents(a, config, snapshot.now)));
  const policy = snapshot.policy;
  if (policy === undefined) return intents;
  const target = { kind: 'OrchestratorPolicy', name: policy.metadata.name } as const;
  const condition = { type: CONDITION, ...describeReport(report, config) };
  intents.push({ kind: 'condition', target, condition });
  const previous = policy.status?.conditions?.find((c) => c.type === CONDITION);
  if (previous !== undefined && previous.reason !== condition.reason) {
    intents.push({
      kind: 'event',
      target,
      type: condition.status === 'True' ? 'Warning' : 'Normal',
      reason: condition.reason,
      message: condition.message,
    });
  }
  return intents;
}

/** An agent's usage as gauges, and its ResourcePressure condition (none until it first is under pressure). */
function agentIntents(agent: AgentObject, config: z.output<typeof performanceConfig>, now: number): Intent[] {
  const usage = agent.status?.resources;
  const labels = { agent: agent.metadata.name };
  const intents: Intent[] = usage
    ? [
        {
          kind: 'metric',
          name: 'agent_cpu_millicores',
          help: 'CPU each agent’s workload used over its runner’s last report interval, in millicores',
          labels,
          value: usage.cpuMillicores,
        },
        {
          kind: 'metric',
          name: 'agent_memory_bytes',
          help: 'Memory each agent’s workload holds, in bytes, as its runner last reported',
          labels,
          value: usage.memoryBytes,
        },
      ]
    : [];
  // Stale figures (a runner that stopped reporting) leave the condition as it was.
  const pressure = pressureOf(
    agent,
    {
      memoryPercent: config.memoryPercent,
      cpuPercent: config.cpuPercent,
      staleMs: 5 * 60_000,
      oomWindowMs: config.oomWindowMinutes * 60_000,
    },
    now,
  );
  const previous = agent.status?.conditions?.find((c) => c.type === PRESSURE_CONDITION);
  if (pressure === undefined || (previous === undefined && pressure.status === 'False')) return intents;
  const target = { kind: 'Agent', name: agent.metadata.name } as const;
  intents.push({ kind: 'condition', target, condition: { type: PRESSURE_CONDITION, ...pressure } });
  if (previous?.reason !== pressure.reason) {
    intents.push({
      kind: 'event',
      target,
      type: pressure.status === 'True' ? 'Warning' : 'Normal',
      reason: pressure.reason,
      message: pressure.message,
    });
  }
  return intents;
}

/**
 * Performance: a bottleneck report per namespace (bottleneck.ts) in the policy's
 * Bottleneck condition, and each agent's usage against its limits (pressure.ts) in its
 * ResourcePressure condition and gauges, recomputed every periodSeconds; between two reports a tick
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
          return [
            ...kept.intents.filter((i) => i.kind !== 'event'),
            { kind: 'requeue', afterMs: kept.at + config.periodSeconds * 1000 - snapshot.now },
          ];
        }
        const intents = reportIntents(snapshot, config);
        last.set(snapshot.namespace, { at: snapshot.now, intents });
        return [...intents, { kind: 'requeue', afterMs: config.periodSeconds * 1000 }];
      },
    };
  },
});
