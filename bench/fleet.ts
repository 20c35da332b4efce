// Benchmark: a big fleet. 5,000 Ready Agents (status written here, as in the routing
// benchmark) and the operator's task controller in a process of its own; 50,000 Tasks
// are created as fast as the API server takes them and assigned as they come, then new
// Tasks arrive at a steady 100 per second with all of those cached. Reports the fill's
// throughput and the steady rate's created -> Assigned p50/p99, and the task
// controller's memory with 55,000 objects cached.
//
//   make bench SCENARIO=fleet
//   node bench/fleet.ts [--agents 5000] [--tasks 50000] [--rate 100] [--seconds 30] [--qps 1000 --burst 2000]
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { taskKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { createNamespace, deleteNamespace } from './namespaces.ts';
import { Recorder } from './results.ts';
import { RouterChild } from './router-child.ts';
import { RssSampler } from './rss.ts';
import { LANES, SideBySide, createReadyAgents } from './side-by-side.ts';
import { cdf } from './stats.ts';
import { cdfChart } from './svg-chart.ts';
import { controlPlane, knob } from './support.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: knob('BENCH_FLEET_AGENTS', '5000') },
    tasks: { type: 'string', default: knob('BENCH_FLEET_TASKS', '50000') },
    rate: { type: 'string', default: knob('BENCH_FLEET_RATE', '100') },
    seconds: { type: 'string', default: knob('BENCH_FLEET_SECONDS', '30') },
    qps: { type: 'string', default: '1000' },
    burst: { type: 'string', default: '2000' },
  },
});
const AGENTS = Number(values.agents);
const TASKS = Number(values.tasks);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const silent = pino({ level: 'silent' });

const recorder = new Recorder('fleet', `${AGENTS} agents, ${TASKS} tasks, then ${RATE} new tasks per second`, {
  agents: AGENTS,
  tasks: TASKS,
  rate: RATE,
  seconds: SECONDS,
  operatorQps: values.qps,
  operatorBurst: values.burst,
});

await recorder.run(async (r) => {
  const { kubeconfig, client } = controlPlane();
  const namespace = `bench-fleet-${Date.now().toString(36)}`;
  const stop = new AbortController();
  const rss = new RssSampler();
  let router: RouterChild | undefined;
  try {
    await createNamespace(client, namespace);
    process.stderr.write(`creating ${AGENTS} Ready agents...\n`);
    await createReadyAgents(client, namespace, AGENTS, Math.ceil((TASKS + RATE * SECONDS) / AGENTS) + 2);
    router = new RouterChild(kubeconfig, namespace, Number(values.qps), Number(values.burst));
    await router.waitReady();
    rss.watch('operator task controller', router.pid);
    const tasks = new Informer<KubeObject>({ client, resource: resourceOfKind(taskKind), namespace, logger: silent });
    const side = new SideBySide(client, namespace, tasks);
    void tasks.run(stop.signal);
    await tasks.waitForSync();

    process.stderr.write(`filling: ${TASKS} Tasks as fast as the API server takes them...\n`);
    const fill = await side.phase('operator', 'fill', TASKS, undefined, 1_800_000);
    process.stderr.write(`steady: ${RATE} Tasks/s for ${SECONDS} s...\n`);
    const steady = await side.phase('operator', 'steady', RATE * SECONDS, RATE, 600_000);
    const report = await router.report();

    r.line(
      `fleet: ${AGENTS} Ready agents in ${LANES} capability lanes, operator task controller at ${values.qps} QPS / ${values.burst} burst, node ${process.version}`,
    );
    r.line(
      `  fill: ${TASKS} Tasks assigned at ${fill.meanRate.toFixed(0)}/s (${fill.sustainedRate.toFixed(0)}/s over the middle 80%), all in ${fill.allPlacedSeconds.toFixed(0)} s`,
    );
    r.line(
      `  then ${RATE} Tasks/s for ${SECONDS} s with ${TASKS} cached: created -> Assigned p50 ${steady.latency.p50.toFixed(0)} ms  p99 ${steady.latency.p99.toFixed(0)} ms  max ${steady.latency.max.toFixed(0)} ms`,
    );
    r.line(
      `  routing cycle (decisions only): ${report.cycles.count} cycles, p50 ${report.cycles.p50.toFixed(2)} ms  p99 ${report.cycles.p99.toFixed(2)} ms`,
    );
    r.line(`  peak RSS of the task controller: ${(rss.peak('operator task controller') / 2 ** 20).toFixed(0)} MB`);
    r.figure(
      'fill_per_s',
      fill.meanRate,
      '/s',
      `Tasks assigned per second while ${TASKS} are created as fast as possible (first created -> last assigned)`,
    );
    r.figure('fill_all_s', fill.allPlacedSeconds, 's', `first of ${TASKS} Tasks created -> all assigned`);
    r.figure('steady_p50_ms', steady.latency.p50, 'ms', `Task created -> Assigned p50 at ${RATE}/s, ${TASKS} cached`);
    r.figure('steady_p99_ms', steady.latency.p99, 'ms', `Task created -> Assigned p99 at ${RATE}/s, ${TASKS} cached`);
    r.figure('cycle_p99_ms', report.cycles.p99, 'ms', `routing cycle (decisions only) p99, ${AGENTS} agents`);
    r.figure('rss_peak_mb', rss.peak('operator task controller') / 2 ** 20, 'MB', 'peak RSS of the task controller process');
    r.chart(
      'cdf-steady',
      cdfChart(
        `Task created -> Assigned at ${RATE}/s, ${TASKS} Tasks cached`,
        'milliseconds (log scale)',
        [{ name: 'operator', points: cdf(steady.latencyMs) }],
        true,
      ),
    );
    r.chart('throughput-fill', {
      title: `Tasks assigned per second while ${TASKS} are created`,
      x: { label: 'seconds since the first was created' },
      y: { label: 'assigned per second' },
      series: [{ name: 'operator', points: fill.throughput }],
    });
    r.chart('rss', {
      title: 'task controller resident memory',
      x: { label: 'seconds since it started' },
      y: { label: 'MB' },
      series: rss.series(),
    });
  } finally {
    stop.abort();
    rss.stop();
    await router?.stop();
    await deleteNamespace(client, namespace, 1_200_000);
    await client.close();
  }
});
