// Benchmark: task routing side by side with kube-scheduler, on the same plane, with the
// same offered load and the same client budget. The operator's task controller runs in
// a process of its own (bench/router-process.ts) over N Ready Agents; kube-scheduler,
// restarted with the same --kube-api-qps/--kube-api-burst, places Pods on N kwok nodes
// labelled with the agents' capabilities. For each system, one after the other:
//   - a steady rate of new items per second, for each rate of --rates
//   - a burst: --burst-items created as fast as the API server takes them
//   - a backlog: --backlog-items created while the system is stopped (the task controller
//     process, kube-scheduler paused), then the system started: how fast it drains them
//     with nothing else writing, against the API server's ceiling
// and, before any of it, the API server's own ceiling for status PATCHes, so the report
// can say what share of it each system reaches. Reports created -> placed p50/p99 and
// the ratios operator / kube-scheduler.
//
//   make bench SCENARIO=routing            (1,000 QPS for both)
//   make bench SCENARIO=routing-defaults   (both at their defaults: the operator's 100 QPS / 200 burst,
//                                           kube-scheduler's 50 QPS / 100 burst)
//   node bench/routing.ts [--agents 1000] [--qps 1000] [--burst 2000] [--scheduler-defaults]
//                         [--rates 20,100] [--seconds 20] [--burst-items 3000] [--backlog-items 3000]
//                         [--ceiling-seconds 10]
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { taskKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Pods, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { statusPatchCeiling } from './apiserver-ceiling.ts';
import { kwokNodeNames, labelNodes, useKwokNodes } from './kwok-nodes.ts';
import { exists, until } from './load.ts';
import { createNamespace, deleteNamespace } from './namespaces.ts';
import { ServiceAccounts } from './resources.ts';
import { Recorder } from './results.ts';
import { RouterChild } from './router-child.ts';
import type { StallReport } from './router-process.ts';
import { RssSampler } from './rss.ts';
import { LANES, SideBySide, capabilitiesOf, createReadyAgents, nodeLabel, type Phase } from './side-by-side.ts';
import { cdf } from './stats.ts';
import { cdfChart } from './svg-chart.ts';
import { controlPlane, hack, knob, planePid } from './support.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: knob('BENCH_ROUTING_AGENTS', '1000') },
    qps: { type: 'string', default: '1000' },
    burst: { type: 'string', default: '2000' },
    'scheduler-defaults': { type: 'boolean', default: false },
    rates: { type: 'string', default: knob('BENCH_ROUTING_RATES', '20,100') },
    seconds: { type: 'string', default: knob('BENCH_ROUTING_SECONDS', '20') },
    'burst-items': { type: 'string', default: knob('BENCH_ROUTING_BURST', '3000') },
    'backlog-items': { type: 'string', default: knob('BENCH_ROUTING_BACKLOG', '3000') },
    'ceiling-seconds': { type: 'string', default: knob('BENCH_CEILING_SECONDS', '10') },
  },
});
const AGENTS = Number(values.agents);
const QPS = Number(values.qps);
const BURST = Number(values.burst);
const RATES = values.rates.split(',').map(Number);
const SECONDS = Number(values.seconds);
const BURST_ITEMS = Number(values['burst-items']);
const BACKLOG_ITEMS = Number(values['backlog-items']);
const silent = pino({ level: 'silent' });
const PLACE_TIMEOUT_MS = 900_000;

const recorder = new Recorder('routing', 'Task routing side by side with kube-scheduler', {
  agents: AGENTS,
  kwokNodes: AGENTS,
  operatorQps: QPS,
  operatorBurst: BURST,
  scheduler: values['scheduler-defaults'] ? 'its defaults (50 QPS / 100 burst)' : `${QPS} QPS / ${BURST} burst`,
  rates: values.rates,
  seconds: SECONDS,
  burstItems: BURST_ITEMS,
  backlogItems: BACKLOG_ITEMS,
});

await recorder.run(async (r) => {
  const { kubeconfig, client } = controlPlane();
  const namespace = `bench-routing-${Date.now().toString(36)}`;
  const restoreNodes = await useKwokNodes(client, AGENTS);
  const nodes = (await kwokNodeNames(client)).slice(0, AGENTS);
  const rss = new RssSampler();
  const stop = new AbortController();
  let router: RouterChild | undefined;
  let schedulerFlags = false;
  let schedulerPaused = false;
  try {
    await createNamespace(client, namespace);
    const total = RATES.reduce((a, rate) => a + rate * SECONDS, 0) + BURST_ITEMS + BACKLOG_ITEMS + 1;
    process.stderr.write(`labelling ${nodes.length} kwok nodes, creating ${AGENTS} Ready agents...\n`);
    await labelNodes(client, nodes, (_n, i) => Object.fromEntries(capabilitiesOf(i).map((c) => [nodeLabel(c), 'true'])));
    await createReadyAgents(client, namespace, AGENTS, Math.ceil(total / AGENTS) + 1);

    process.stderr.write(`the API server's status PATCH ceiling (${values['ceiling-seconds']} s)...\n`);
    const ceilingBefore = await statusPatchCeiling(client, namespace, Number(values['ceiling-seconds']));

    const flags = values['scheduler-defaults'] ? [] : [`--kube-api-qps=${QPS}`, `--kube-api-burst=${BURST}`];
    hack('control-plane.sh', 'restart', 'kube-scheduler', ...flags);
    schedulerFlags = flags.length > 0;
    rss.watch('kube-scheduler', planePid('kube-scheduler'));
    router = new RouterChild(kubeconfig, namespace, QPS, BURST);
    await router.waitReady();
    rss.watch('operator task controller', router.pid);

    const tasks = new Informer<KubeObject>({ client, resource: resourceOfKind(taskKind), namespace, logger: silent });
    const pods = new Informer<KubeObject>({ client, resource: Pods, namespace, logger: silent });
    const sides = new SideBySide(client, namespace, tasks, pods);
    for (const i of [tasks, pods]) void i.run(stop.signal);
    await Promise.all([tasks.waitForSync(), pods.waitForSync()]);
    // Pods need the namespace's ServiceAccount, which the controller manager creates.
    await until('the default ServiceAccount', () => exists(client, objectPath(ServiceAccounts, namespace, 'default')), 60_000);
    // One of each first: caches warm, connections open.
    await sides.phase('operator', 'warmup', 1, undefined, 60_000);
    await sides.phase('scheduler', 'warmup', 1, undefined, 60_000);

    const phases: { label: string; operator: Phase; scheduler: Phase; stalls: StallReport }[] = [];
    for (const [label, count, rate] of [
      ...RATES.map((rate) => [`${rate}ps`, rate * SECONDS, rate] as const),
      ['burst', BURST_ITEMS, undefined] as const,
    ]) {
      process.stderr.write(`${label}: ${count} Tasks, then ${count} Pods...\n`);
      await router.stalls();
      const operator = await sides.phase('operator', label, count, rate, PLACE_TIMEOUT_MS);
      const stalls = await router.stalls();
      const scheduler = await sides.phase('scheduler', label, count, rate, PLACE_TIMEOUT_MS);
      phases.push({ label, operator, scheduler, stalls });
    }
    const report = await router.report();
    await router.stop();
    let backlog: { operator: Phase; scheduler: Phase } | undefined;
    if (BACKLOG_ITEMS > 0) {
      process.stderr.write(
        `backlog: ${BACKLOG_ITEMS} Tasks with the task controller stopped, then ${BACKLOG_ITEMS} Pods with kube-scheduler paused...\n`,
      );
      const operator = await sides.backlog(
        'operator',
        'backlog',
        BACKLOG_ITEMS,
        () => {
          router = new RouterChild(kubeconfig, namespace, QPS, BURST);
        },
        PLACE_TIMEOUT_MS,
      );
      await router.stop();
      hack('control-plane.sh', 'pause', 'kube-scheduler');
      schedulerPaused = true;
      const scheduler = await sides.backlog(
        'scheduler',
        'backlog',
        BACKLOG_ITEMS,
        () => {
          hack('control-plane.sh', 'restart', 'kube-scheduler', ...flags);
          schedulerPaused = false;
        },
        PLACE_TIMEOUT_MS,
      );
      backlog = { operator, scheduler };
    }
    // Measured again at the end: what else ran on the machine moves it, and the higher of the two is the ceiling.
    process.stderr.write(`the API server's status PATCH ceiling again...\n`);
    const ceilingAfter = await statusPatchCeiling(client, namespace, Number(values['ceiling-seconds']));
    const ceiling = ceilingAfter.writesPerSecond > ceilingBefore.writesPerSecond ? ceilingAfter : ceilingBefore;

    r.line(
      `routing side by side, ${AGENTS} Ready agents / ${AGENTS} kwok nodes in ${LANES} capability lanes, operator at ${QPS} QPS / ${BURST} burst, kube-scheduler at ${values['scheduler-defaults'] ? 'its defaults' : 'the same'}, node ${process.version}`,
    );
    r.line(
      `  API server ceiling: ${ceiling.writesPerSecond.toFixed(0)} status PATCHes/s (${ceiling.concurrency} in flight, p50 ${ceiling.latency.p50.toFixed(1)} ms, p99 ${ceiling.latency.p99.toFixed(1)} ms; ${ceilingBefore.writesPerSecond.toFixed(0)}/s before the phases, ${ceilingAfter.writesPerSecond.toFixed(0)}/s after)`,
    );
    r.figure(
      'apiserver_status_patches_per_s',
      ceiling.writesPerSecond,
      '/s',
      'API server ceiling: Task status PATCHes per second, no operator',
    );
    r.line('  created -> placed              operator p50 / p99         kube-scheduler p50 / p99    ratio p50 / p99');
    for (const { label, operator: o, scheduler: s } of phases) {
      const name = label === 'burst' ? `${BURST_ITEMS} at once` : `${label.replace('ps', '')}/s for ${SECONDS} s`;
      r.line(
        `  ${name.padEnd(28)} ${o.latency.p50.toFixed(0).padStart(7)} / ${o.latency.p99.toFixed(0).padEnd(7)} ms     ${s.latency.p50.toFixed(0).padStart(7)} / ${s.latency.p99.toFixed(0).padEnd(7)} ms    ${(o.latency.p50 / s.latency.p50).toFixed(2)}x / ${(o.latency.p99 / s.latency.p99).toFixed(2)}x`,
      );
      for (const [who, p] of [
        ['operator', o],
        ['scheduler', s],
      ] as const) {
        r.figure(
          `${who}_${label}_p50_ms`,
          p.latency.p50,
          'ms',
          `${who === 'operator' ? 'Task created -> Assigned' : 'Pod created -> bound'} p50, ${name}`,
        );
        r.figure(
          `${who}_${label}_p99_ms`,
          p.latency.p99,
          'ms',
          `${who === 'operator' ? 'Task created -> Assigned' : 'Pod created -> bound'} p99, ${name}`,
        );
      }
      r.figure(`ratio_${label}_p99`, o.latency.p99 / s.latency.p99, 'x', `p99 operator / kube-scheduler, ${name}`);
      r.chart(
        `cdf-${label}`,
        cdfChart(
          `created -> placed, ${name}`,
          'milliseconds (log scale)',
          [
            { name: 'operator: Task -> Assigned', points: cdf(o.latencyMs) },
            { name: 'kube-scheduler: Pod -> bound', points: cdf(s.latencyMs) },
          ],
          true,
        ),
      );
    }
    const burst = phases.find((p) => p.label === 'burst');
    if (burst) {
      const { operator: o, scheduler: s } = burst;
      r.line(
        `  burst throughput: operator ${o.meanRate.toFixed(0)}/s (all in ${o.allPlacedSeconds.toFixed(1)} s; ${o.sustainedRate.toFixed(0)}/s over the middle 80%), kube-scheduler ${s.meanRate.toFixed(0)}/s (all in ${s.allPlacedSeconds.toFixed(1)} s; ${s.sustainedRate.toFixed(0)}/s over the middle 80%), ratio ${(o.meanRate / s.meanRate).toFixed(2)}x`,
      );
      // Both place an item with one write (a status PATCH, a binding); the operator also writes each new Task's first status.
      r.line(
        `  share of the API server's write ceiling: operator ${((100 * o.meanRate) / ceiling.writesPerSecond).toFixed(0)}% in assignments, kube-scheduler ${((100 * s.meanRate) / ceiling.writesPerSecond).toFixed(0)}% in bindings`,
      );
      // The burst's items are created while they are placed, through the same API server:
      // placement cannot outrun creation, and creates and placements share its ceiling.
      const writes = (p: typeof o): number => (2 * BURST_ITEMS) / p.allPlacedSeconds;
      r.line(
        `  created at: operator's Tasks ${(BURST_ITEMS / o.allCreatedSeconds).toFixed(0)}/s, kube-scheduler's Pods ${(BURST_ITEMS / s.allCreatedSeconds).toFixed(0)}/s; creates + placements: operator ${writes(o).toFixed(0)}/s (${((100 * writes(o)) / ceiling.writesPerSecond).toFixed(0)}% of the ceiling), kube-scheduler ${writes(s).toFixed(0)}/s (${((100 * writes(s)) / ceiling.writesPerSecond).toFixed(0)}%)`,
      );
      r.figure(
        'operator_burst_writes_share_pct',
        (100 * writes(o)) / ceiling.writesPerSecond,
        '%',
        "creates + assignments per second in the operator's burst as a share of the API server's status PATCH ceiling",
      );
      r.figure(
        'operator_placed_per_created',
        o.allCreatedSeconds / o.allPlacedSeconds,
        'x',
        "the operator's burst: placement rate / creation rate (1.0: placed as fast as created)",
      );
      r.figure(
        'operator_burst_per_s',
        o.meanRate,
        '/s',
        'operator: Tasks assigned per second in the burst (first created -> last assigned)',
      );
      r.figure(
        'scheduler_burst_per_s',
        s.meanRate,
        '/s',
        'kube-scheduler: Pods bound per second in the burst (first created -> last bound)',
      );
      r.figure('operator_burst_all_s', o.allPlacedSeconds, 's', 'operator: burst created -> all assigned');
      r.figure('scheduler_burst_all_s', s.allPlacedSeconds, 's', 'kube-scheduler: burst created -> all bound');
      r.figure('ratio_burst_rate', o.meanRate / s.meanRate, 'x', 'burst throughput operator / kube-scheduler');
      r.figure(
        'operator_share_of_ceiling_pct',
        (100 * o.meanRate) / ceiling.writesPerSecond,
        '%',
        "operator's burst assignments per second as a share of the API server's status PATCH ceiling",
      );
      r.figure(
        'scheduler_share_of_ceiling_pct',
        (100 * s.meanRate) / ceiling.writesPerSecond,
        '%',
        "kube-scheduler's burst bindings per second as a share of the API server's status PATCH ceiling",
      );
      r.chart('throughput-burst', {
        title: `placements per second, ${BURST_ITEMS} items at once`,
        x: { label: 'seconds since the burst started' },
        y: { label: 'placed per second' },
        series: [
          { name: 'operator', points: o.throughput },
          { name: 'kube-scheduler', points: s.throughput },
        ],
      });
    }
    if (backlog) {
      const { operator: o, scheduler: s } = backlog;
      r.line(
        `  backlog of ${BACKLOG_ITEMS}, from the system's start: operator all in ${o.allPlacedSeconds.toFixed(1)} s, ${o.sustainedRate.toFixed(0)}/s over the middle 80% (${((100 * o.sustainedRate) / ceiling.writesPerSecond).toFixed(0)}% of the ceiling); kube-scheduler all in ${s.allPlacedSeconds.toFixed(1)} s, ${s.sustainedRate.toFixed(0)}/s (${((100 * s.sustainedRate) / ceiling.writesPerSecond).toFixed(0)}%); ratio ${(o.sustainedRate / s.sustainedRate).toFixed(2)}x`,
      );
      r.figure('operator_backlog_per_s', o.sustainedRate, '/s', 'operator: backlog assigned per second over the middle 80%');
      r.figure('scheduler_backlog_per_s', s.sustainedRate, '/s', 'kube-scheduler: backlog bound per second over the middle 80%');
      r.figure(
        'operator_backlog_share_of_ceiling_pct',
        (100 * o.sustainedRate) / ceiling.writesPerSecond,
        '%',
        "operator: backlog assignments per second as a share of the API server's status PATCH ceiling",
      );
      r.figure('ratio_backlog_rate', o.sustainedRate / s.sustainedRate, 'x', 'backlog drain rate operator / kube-scheduler');
      r.chart('throughput-backlog', {
        title: `placements per second, a backlog of ${BACKLOG_ITEMS} from the system's start`,
        x: { label: 'seconds since the system was started' },
        y: { label: 'placed per second' },
        series: [
          { name: 'operator', points: o.throughput },
          { name: 'kube-scheduler', points: s.throughput },
        ],
      });
    }
    r.line("  what held the task controller's event loop during each of its phases:");
    for (const { label, stalls: st } of phases) {
      r.line(
        `    ${label.padEnd(8)} loop delay p99 ${st.loopDelayP99Ms.toFixed(1)} ms, max ${st.loopDelayMaxMs.toFixed(1)} ms;  ${st.gcPauses} GC pauses, longest ${st.gcMaxMs.toFixed(1)} ms, ${st.gcTotalMs.toFixed(0)} ms in all`,
      );
      r.figure(`operator_${label}_loop_delay_max_ms`, st.loopDelayMaxMs, 'ms', `the task controller's longest event loop delay, ${label}`);
    }
    r.line(
      `  routing cycle (decisions only): ${report.cycles.count} cycles, p50 ${report.cycles.p50.toFixed(3)} ms  p99 ${report.cycles.p99.toFixed(3)} ms`,
    );
    r.figure('cycle_p99_ms', report.cycles.p99, 'ms', 'routing cycle (decisions only) p99');
    r.line('  plugin calls (one per task and extension point; a Filter pass over all candidates is one call):');
    for (const [key, s] of Object.entries(report.plugins).sort(([a], [b]) => a.localeCompare(b))) {
      r.line(`    ${key.padEnd(40)} ${String(s.count).padStart(7)} calls  p50 ${s.p50.toFixed(3)} ms  p99 ${s.p99.toFixed(3)} ms`);
    }
    r.line(
      `  peak RSS: operator task controller ${(rss.peak('operator task controller') / 2 ** 20).toFixed(0)} MB, kube-scheduler ${(rss.peak('kube-scheduler') / 2 ** 20).toFixed(0)} MB`,
    );
    r.chart('rss', { title: 'resident memory over the run', x: { label: 'seconds' }, y: { label: 'MB' }, series: rss.series() });
  } finally {
    stop.abort();
    rss.stop();
    await router?.stop();
    // Others share this plane: the scheduler goes back to its defaults, the nodes to their count and labels.
    if (schedulerFlags || schedulerPaused) hack('control-plane.sh', 'restart', 'kube-scheduler');
    await deleteNamespace(client, namespace);
    restoreNodes();
    const unlabel = Object.fromEntries(
      [...new Set(Array.from({ length: LANES }, (_, i) => capabilitiesOf(i)).flat())].map((c) => [nodeLabel(c), null]),
    );
    await labelNodes(client, await kwokNodeNames(client), () => unlabel);
    await client.close();
  }
});
