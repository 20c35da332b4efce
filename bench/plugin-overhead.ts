// Benchmark: what the production plugins cost, no API server. Side by side in one run:
//   - routing: one task through the Balanced profile with the plugin on and off (runs
//     alternate, so both see the same machine), with no agent quarantined (the Filter's
//     own cost) and a quarter quarantined (the cycle then looks at more agents to find
//     --feasible-agents-to-find that pass);
//   - lifecycle: one tick of the plugin over a namespace whose every agent carries the 32
//     attempts its runner records (what the plugin host calls on each change);
//   - production-slo: one tick with three SLOs over a namespace of --slo-tasks tasks;
//   - performance: one bottleneck report over the same tasks and 1,000 agents.
//
//   node bench/plugin-overhead.ts [--sizes 1000,5000] [--tasks 2000] [--ticks 50] [--slo-tasks 10000]
import { parseArgs } from 'node:util';
import { builtinRegistry } from '../operator/src/builtin-registry.ts';
import { AgentCache, type AgentFacts } from '../operator/src/framework/agent-cache.ts';
import { routeQueue, type Profile } from '../operator/src/framework/cycle.ts';
import type { AgentObject, NamespaceSnapshot, TaskObject } from '../operator/src/framework/lifecycle.ts';
import type { TaskInfo } from '../operator/src/framework/types.ts';
import { anomaly } from '../plugins/anomaly/index.ts';
import { performancePlugin } from '../plugins/performance/index.ts';
import { productionSlo } from '../plugins/production-slo/index.ts';
import { loadAverage, percentile } from './support.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000' },
    tasks: { type: 'string', default: '2000' },
    ticks: { type: 'string', default: '50' },
    'slo-tasks': { type: 'string', default: '10000' },
  },
});
const SIZES = values.sizes.split(',').map(Number);
const TASKS = Number(values.tasks);
const TICKS = Number(values.ticks);
const SLO_TASKS = Number(values['slo-tasks']);
const NS = 'bench';
const CAPS = ['code', 'review', 'docs', 'test', 'ops'];
const NOW = Date.parse('2026-11-30T00:00:00Z');

function profileWith(plugins: Record<string, Record<string, unknown>>): Profile {
  const built = builtinRegistry().build({ strategy: 'Balanced' }, plugins);
  if (built.profile === undefined) throw new Error(built.errors.join('; '));
  return built.profile;
}
const PROFILES = { on: profileWith({}), off: profileWith({ anomaly: { enabled: false } }) };

function facts(n: number, quarantinedEvery: number): AgentFacts[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `${NS}/agent-${i}`,
    namespace: NS,
    name: `agent-${i}`,
    capabilities: new Set([CAPS[i % CAPS.length] as string, CAPS[(i + 1) % CAPS.length] as string]),
    maxConcurrentTasks: 4,
    ready: true,
    sleeping: false,
    leaving: false,
    conditions: {
      Healthy: { status: 'True', reason: 'HeartbeatFresh' },
      ...(quarantinedEvery > 0 && i % quarantinedEvery === 0 ? { Degraded: { status: 'True', reason: 'Anomalous' } } : {}),
    },
  }));
}

/** Microseconds per task, routing batches of 10 on an idle fleet. */
function route(cache: AgentCache, profile: Profile, from: number): number[] {
  const us: number[] = [];
  for (let i = 0; i < TASKS; i += 10) {
    const tasks: TaskInfo[] = Array.from({ length: 10 }, (_, j) => ({
      key: `${NS}/t-${from + i + j}`,
      namespace: NS,
      name: `t-${from + i + j}`,
      required: [CAPS[(i + j) % CAPS.length] as string],
      preferred: [],
      priority: 100,
      queuedAt: NOW,
    }));
    const start = performance.now();
    routeQueue({ now: NOW, seed: i, tasks, index: (ns) => cache.index(ns) }, profile, { feasibleAgentsToFind: 100 });
    us.push(((performance.now() - start) * 1000) / 10);
  }
  return us;
}

function agentObjects(n: number): AgentObject[] {
  return Array.from({ length: n }, (_, i) => ({
    metadata: { name: `agent-${i}`, namespace: NS, uid: `u${i}` },
    spec: {
      capabilities: ['code'],
      runtime: { type: 'kubernetes', image: 'img' },
      maxConcurrentTasks: 4,
      desiredState: 'Active',
      heartbeat: { intervalSeconds: 10, timeoutSeconds: 30 },
    },
    status: {
      stats: {
        succeeded: 32,
        failed: 0,
        consecutiveFailures: 0,
        recent: Array.from({ length: 32 }, (_, k) => ({
          task: `t-${i}-${k}`,
          attempt: 1,
          capabilities: CAPS[k % 2] as string,
          durationMs: 20_000 + ((i * 7 + k * 13) % 2000),
          outcome: 'Succeeded' as const,
          completedAt: new Date(NOW - (32 - k) * 60_000).toISOString(),
        })),
      },
    },
  }));
}

const fmt = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);

console.log(`anomaly plugin overhead, Balanced profile; load average ${loadAverage()}`);
console.log(
  '| agents | quarantined | route p50 / task, on | off | on / off | route p99, on | off | onTick p50 | onTick p99 | per agent (p50) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
const lifecycle = anomaly.create({}).lifecycle;
for (const n of SIZES)
  for (const every of [0, 4]) {
    const cache = new AgentCache();
    for (const a of facts(n, every)) cache.setAgent(a.key, a);
    route(cache, PROFILES.on, 0);
    route(cache, PROFILES.off, 0);
    const on: number[] = [];
    const off: number[] = [];
    for (let round = 0; round < 4; round++) {
      on.push(...route(cache, PROFILES.on, round * TASKS));
      off.push(...route(cache, PROFILES.off, round * TASKS));
    }
    const snapshot: NamespaceSnapshot = { now: NOW, namespace: NS, policy: undefined, agents: agentObjects(n), tasks: [] };
    const ticks: number[] = [];
    for (let t = 0; t < TICKS + 3; t++) {
      const start = performance.now();
      lifecycle?.onTick?.(snapshot);
      if (t >= 3) ticks.push((performance.now() - start) * 1000);
    }
    const [p50on, p50off] = [percentile(on, 50), percentile(off, 50)];
    const tick50 = percentile(ticks, 50);
    console.log(
      `| ${n} | ${every === 0 ? 'none' : `1 in ${every}`} | ${fmt(p50on)} | ${fmt(p50off)} | ${(p50on / p50off).toFixed(2)}x | ${fmt(percentile(on, 99))} | ${fmt(percentile(off, 99))} | ${fmt(tick50)} | ${fmt(percentile(ticks, 99))} | ${fmt(tick50 / n)} |`,
    );
  }

/** Tasks of the last 6 hours: most ended (1 in 20 failed), some running, some waiting. */
function sloTasks(n: number): TaskObject[] {
  const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  return Array.from({ length: n }, (_, i) => {
    const created = NOW - ((i + 1) * 6 * 3_600_000) / n;
    const phase = i % 50 === 0 ? 'Pending' : i % 50 === 1 ? 'Running' : i % 20 === 2 ? 'Failed' : 'Succeeded';
    const ended = phase === 'Succeeded' || phase === 'Failed';
    return {
      metadata: { name: `t-${i}`, namespace: NS, uid: `t${i}`, creationTimestamp: iso(created) },
      spec: { requiredCapabilities: [CAPS[i % CAPS.length] as string] },
      status: {
        phase,
        queuedAt: iso(created),
        ...(phase === 'Pending' ? {} : { assignment: { agent: 'a', attempt: 1, assignedAt: iso(created + 1000 + (i % 7) * 1000) } }),
        ...(ended ? { completedAt: iso(created + 60_000) } : {}),
      },
    } as unknown as TaskObject;
  });
}

const slo = productionSlo.create({
  slos: [
    { name: 'assignment', indicator: 'AssignmentLatency', thresholdSeconds: 5, objectivePercent: 99 },
    { name: 'turnaround', indicator: 'EndToEndLatency', thresholdSeconds: 600, objectivePercent: 95 },
    { name: 'success', indicator: 'SuccessRatio', objectivePercent: 99, capability: 'code' },
  ],
}).lifecycle;
const sloSnapshot: NamespaceSnapshot = { now: NOW, namespace: NS, policy: undefined, agents: [], tasks: sloTasks(SLO_TASKS) };
const sloTicks: number[] = [];
for (let t = 0; t < TICKS + 3; t++) {
  const start = performance.now();
  slo?.onTick?.(sloSnapshot);
  if (t >= 3) sloTicks.push((performance.now() - start) * 1000);
}
console.log(
  `production-slo, 3 SLOs over ${SLO_TASKS} tasks: onTick p50 ${fmt(percentile(sloTicks, 50))}, p99 ${fmt(percentile(sloTicks, 99))}`,
);
// periodSeconds 10 and ticks 10 s apart: every tick makes a new report (the worst case).
const perf = performancePlugin.create({ periodSeconds: 10 }).lifecycle;
const perfAgents = agentObjects(1000);
const reports: number[] = [];
for (let t = 0; t < TICKS + 3; t++) {
  const start = performance.now();
  perf?.onTick?.({ ...sloSnapshot, now: NOW + t * 10_000, agents: perfAgents });
  if (t >= 3) reports.push((performance.now() - start) * 1000);
}
console.log(
  `performance, a bottleneck report over ${SLO_TASKS} tasks and 1000 agents: p50 ${fmt(percentile(reports, 50))}, p99 ${fmt(percentile(reports, 99))}`,
);
console.log(`load average at the end ${loadAverage()}`);
