// Benchmark: task routing on a big fleet. 1,000 Agents (Ready, heartbeating: their status
// is written directly, so the measure is routing, not agent start-up) and the operator's
// task controller in this process. Reports:
//   - assignment latency (Task created -> Assigned, seen by a watch) at a steady 100 tasks/s
//   - the highest sustained assignment rate (tasks created as fast as the API server takes them)
//
//   make bench-routing   (= node bench/routing.ts [--agents 1000] [--rate 100] [--seconds 30] [--qps 1000])
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { API_VERSION } from '../operator/src/api/common.ts';
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import { parseConfig } from '../operator/src/config/config.ts';
import { builtinRegistry } from '../operator/src/builtin-registry.ts';
import { pluginsOf } from '../operator/src/controllers/plugins/host.ts';
import { registerTaskController } from '../operator/src/controllers/task/register.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import { systemClock } from '../operator/src/runtime/clock.ts';
import { Manager } from '../operator/src/runtime/manager.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { createMetrics } from '../operator/src/telemetry/metrics.ts';
import { KubeConfig } from '@kubernetes/client-node';
import { Namespaces } from './resources.ts';
import { controlPlane, loadAverage, percentile, recordObservations } from './support.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '30' },
    qps: { type: 'string', default: '1000' },
  },
});
const AGENTS = Number(values.agents);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const silent = pino({ level: 'silent' });
const stamp = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await fn(item);
    }
  }));
}

async function main(): Promise<void> {
  const { kubeconfig, client } = controlPlane();
  const namespace = `bench-routing-${Date.now().toString(36)}`;
  await client.request('POST', collectionPath(Namespaces), { body: { metadata: { name: namespace } } });
  try {
    // The fleet: Ready agents with room for every task of the run.
    const names = Array.from({ length: AGENTS }, (_, i) => `agent-${i}`);
    const perAgent = Math.ceil((RATE * SECONDS * 3) / AGENTS) + 1;
    process.stderr.write(`creating ${AGENTS} Ready agents (maxConcurrentTasks ${perAgent})...\n`);
    await pool(names, 32, async (name) => {
      const created = await client.request<KubeObject>('POST', collectionPath(Agents, namespace), {
        body: { apiVersion: API_VERSION, kind: 'Agent', metadata: { name }, spec: { capabilities: ['work'], runtime: { type: 'kubernetes', image: 'runner:bench' }, maxConcurrentTasks: perAgent } },
      });
      const now = stamp(Date.now());
      await client.request('PUT', `${objectPath(Agents, namespace, name)}/status`, {
        body: {
          ...created,
          status: {
            phase: 'Ready',
            conditions: [
              { type: 'Ready', status: 'True', reason: 'HeartbeatRenewed', message: 'bench', lastTransitionTime: now },
              { type: 'Healthy', status: 'True', reason: 'HeartbeatRenewed', message: 'bench', lastTransitionTime: now },
            ],
          },
        },
      });
    });

    // The operator's task controller, alone (no agent controller to undo the status above).
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const config = parseConfig([], {
      AO_WATCH_NAMESPACES: namespace,
      AO_LEADER_ELECT: 'false',
      AO_HEALTH_PROBE_BIND_ADDRESS: '0',
      AO_METRICS_BIND_ADDRESS: '0',
      AO_KUBE_API_QPS: values.qps,
      AO_KUBE_API_BURST: String(Number(values.qps) * 2),
    });
    const manager = new Manager({ config, kubeConfig: kc, logger: silent, metrics: createMetrics({ processMetrics: false }) });
    const plugins = pluginsOf(builtinRegistry(), manager.metrics.registry, config.pluginTimeBudgetMs);
    registerTaskController(manager, { config, logger: silent, clock: systemClock, plugins });
    const cycles = recordObservations(manager.metrics.registry, 'agent_orchestrator_routing_cycle_seconds');
    const pluginCalls = recordObservations(manager.metrics.registry, 'agent_orchestrator_plugin_duration_seconds');
    const loadBefore = loadAverage();
    const stop = new AbortController();
    const exit = manager.run(stop.signal);
    while (!manager.ready().ok) await new Promise((resolve) => setTimeout(resolve, 50));

    const created = new Map<string, number>();
    const assigned = new Map<string, number>();
    const watch = new Informer<KubeObject>({ client, resource: Tasks, namespace, logger: silent });
    const seen = (t: KubeObject): void => {
      const name = t.metadata.name ?? '';
      if ((t.status as { phase?: string } | undefined)?.phase === 'Assigned' && !assigned.has(name)) assigned.set(name, performance.now());
    };
    watch.addHandler({ onAdd: seen, onUpdate: (_o, t) => { seen(t); } });
    void watch.run(stop.signal);
    await watch.waitForSync();

    const createTask = async (name: string): Promise<void> => {
      created.set(name, performance.now());
      await client.request('POST', collectionPath(Tasks, namespace), {
        body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: ['work'] } },
      });
    };
    const waitAssigned = async (batch: readonly string[], timeoutMs: number): Promise<void> => {
      const deadline = performance.now() + timeoutMs;
      while (batch.some((n) => !assigned.has(n))) {
        if (performance.now() > deadline) throw new Error(`${batch.filter((n) => !assigned.has(n)).length} tasks not assigned in time`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };

    // 1. A steady rate.
    process.stderr.write(`steady: ${RATE} tasks/s for ${SECONDS}s...\n`);
    const steady = Array.from({ length: RATE * SECONDS }, (_, i) => `steady-${i}`);
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < steady.length; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      pending.push(createTask(steady[i] ?? ''));
    }
    await Promise.all(pending);
    await waitAssigned(steady, 120_000);
    const latency = steady.map((n) => (assigned.get(n) ?? NaN) - (created.get(n) ?? NaN));

    // 2. As fast as it goes: a burst, then the assignment rate over its middle 80%.
    const burst = Array.from({ length: RATE * SECONDS }, (_, i) => `burst-${i}`);
    process.stderr.write(`burst: ${burst.length} tasks as fast as the API server takes them...\n`);
    await pool(burst, 64, createTask);
    await waitAssigned(burst, 300_000);
    const times = burst.map((n) => assigned.get(n) ?? NaN).sort((a, b) => a - b);
    const lo = times[Math.floor(times.length * 0.1)] ?? 0;
    const hi = times[Math.floor(times.length * 0.9)] ?? 0;
    const rate = (times.length * 0.8) / ((hi - lo) / 1000);
    const createdTimes = burst.map((n) => created.get(n) ?? NaN).sort((a, b) => a - b);
    const createRate = burst.length / (((createdTimes.at(-1) ?? 0) - (createdTimes[0] ?? 0)) / 1000);

    console.log(`routing, ${AGENTS} Ready agents on kwok, operator at ${values.qps} QPS, node ${process.version}`);
    console.log(`  assignment latency at ${RATE} tasks/s (${steady.length} tasks): p50 ${percentile(latency, 50).toFixed(0)} ms  p99 ${percentile(latency, 99).toFixed(0)} ms`);
    console.log(`  sustained assignment rate: ${rate.toFixed(0)} tasks/s (tasks were created at ${createRate.toFixed(0)}/s)`);
    const ms = (xs: readonly number[], p: number): string => (percentile(xs, p) * 1000).toFixed(3);
    const cycleTimes = cycles.map((c) => c.value);
    console.log(`  routing cycle (decisions only): ${cycleTimes.length} cycles, p50 ${ms(cycleTimes, 50)} ms  p99 ${ms(cycleTimes, 99)} ms`);
    console.log('  plugin calls (one per task and extension point; a Filter pass over all candidates is one call):');
    const byPoint = new Map<string, number[]>();
    for (const c of pluginCalls) {
      const key = `${String(c.labels.extension_point)} ${String(c.labels.plugin)}`;
      const list = byPoint.get(key);
      if (list) list.push(c.value);
      else byPoint.set(key, [c.value]);
    }
    for (const [key, xs] of [...byPoint].sort(([a], [b]) => a.localeCompare(b))) {
      console.log(`    ${key.padEnd(40)} ${String(xs.length).padStart(7)} calls  p50 ${ms(xs, 50)} ms  p99 ${ms(xs, 99)} ms`);
    }
    console.log(`  load average (1/5/15 min): ${loadBefore} before, ${loadAverage()} after`);
    stop.abort();
    await exit;
  } finally {
    await client.request('DELETE', objectPath(Namespaces, undefined, namespace)).catch(() => undefined);
    await client.close();
  }
}

await main();
