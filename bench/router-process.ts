// The operator's task controller (routing and the task lifecycle) alone, in a process of
// its own, for the side-by-side with kube-scheduler: like the scheduler it gets its own
// CPU time and client budget, and the benchmark's load and watches run elsewhere. The
// Agents' status is written by the benchmark, so no agent controller runs to undo it.
//
//   node bench/router-process.ts --namespace NS [--qps 100] [--burst 200]
//
// Over IPC it sends {type: 'ready'} once its caches have synced, answers {type: 'report'}
// with the routing cycle and plugin call times it observed, and {type: 'stalls'} with its
// event loop delay and GC pauses since the last time it was asked.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { builtinRegistry } from '../operator/src/builtin-registry.ts';
import { parseConfig } from '../operator/src/config/config.ts';
import { pluginsOf } from '../operator/src/controllers/plugins/host.ts';
import { registerTaskController } from '../operator/src/controllers/task/register.ts';
import { systemClock } from '../operator/src/runtime/clock.ts';
import { Manager } from '../operator/src/runtime/manager.ts';
import { createMetrics } from '../operator/src/telemetry/metrics.ts';
import { summarize, type Summary } from './stats.ts';
import { recordObservations } from './support.ts';

/** What held the process's event loop since it was last asked: where a latency tail can come from. */
export interface StallReport {
  type: 'stalls';
  /** Event loop delay (perf_hooks.monitorEventLoopDelay, 10 ms resolution), milliseconds. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Garbage collection pauses (PerformanceObserver 'gc' entries). */
  gcPauses: number;
  gcMaxMs: number;
  gcTotalMs: number;
}

export interface RouterReport {
  type: 'report';
  /** Routing cycle (decisions only), milliseconds. */
  cycles: Summary;
  /** "<extension point> <plugin>" -> call times, milliseconds. */
  plugins: Record<string, Summary>;
}

const { values } = parseArgs({
  options: { namespace: { type: 'string' }, qps: { type: 'string', default: '100' }, burst: { type: 'string', default: '200' } },
});
if (!values.namespace || !process.send)
  throw new Error('usage: a child process with IPC: router-process.ts --namespace NS [--qps Q] [--burst B]');
const send = process.send.bind(process);

const silent = pino({ level: 'silent' });
const kc = new KubeConfig();
kc.loadFromDefault();
const config = parseConfig([], {
  AO_WATCH_NAMESPACES: values.namespace,
  AO_LEADER_ELECT: 'false',
  AO_HEALTH_PROBE_BIND_ADDRESS: '0',
  AO_METRICS_BIND_ADDRESS: '0',
  AO_KUBE_API_QPS: values.qps,
  AO_KUBE_API_BURST: values.burst,
});
const manager = new Manager({ config, kubeConfig: kc, logger: silent, metrics: createMetrics({ processMetrics: false }) });
const plugins = pluginsOf(builtinRegistry(), manager.metrics.registry, config.pluginTimeBudgetMs);
registerTaskController(manager, { config, logger: silent, clock: systemClock, plugins });
const cycles = recordObservations(manager.metrics.registry, 'agent_orchestrator_routing_cycle_seconds');
const pluginCalls = recordObservations(manager.metrics.registry, 'agent_orchestrator_plugin_duration_seconds');

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let gcPauses: number[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcPauses.push(entry.duration);
}).observe({ entryTypes: ['gc'] });

process.on('message', (m: { type?: string }) => {
  if (m.type === 'stalls') {
    const stalls: StallReport = {
      type: 'stalls',
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
      gcPauses: gcPauses.length,
      gcMaxMs: Math.max(0, ...gcPauses),
      gcTotalMs: gcPauses.reduce((a, b) => a + b, 0),
    };
    loopDelay.reset();
    gcPauses = [];
    send(stalls);
    return;
  }
  if (m.type !== 'report') return;
  const byPoint = new Map<string, number[]>();
  for (const c of pluginCalls) {
    const key = `${String(c.labels.extension_point)} ${String(c.labels.plugin)}`;
    const list = byPoint.get(key);
    if (list) list.push(c.value * 1000);
    else byPoint.set(key, [c.value * 1000]);
  }
  const report: RouterReport = {
    type: 'report',
    cycles: summarize(cycles.map((c) => c.value * 1000)),
    plugins: Object.fromEntries([...byPoint].map(([k, xs]) => [k, summarize(xs)])),
  };
  send(report);
});

const stop = new AbortController();
process.once('SIGTERM', () => {
  stop.abort();
});
// The parent going away ends this process too: it must never outlive a benchmark.
process.once('disconnect', () => {
  stop.abort();
});
const exit = manager.run(stop.signal);
const ready = setInterval(() => {
  if (!manager.ready().ok) return;
  clearInterval(ready);
  send({ type: 'ready' });
}, 50);
process.exitCode = await exit;
clearInterval(ready);
if (process.connected) process.disconnect();
