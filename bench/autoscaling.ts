// Benchmark: a pool scaling with the queue. The compiled operator runs one policy with a
// pool (min 0, max 20, scaleToZero) on kwok; every agent Pod gets a simulated runner
// (test/support/pod-fleet.ts: the real heartbeat and task runner, a scripted executor).
// Reports:
//   - time from the first pending task to the first agent Ready, with the pool at zero
//   - the scale-up curve of a 200-task burst (pending tasks, desired and Ready agents over
//     time), printed and charted in the report (--svg FILE also draws it alone into FILE:
//     docs/autoscaling-burst.svg was drawn this way)
//
//   make bench SCENARIO=autoscaling   (= node bench/autoscaling.ts [--runs 8] [--tasks 200] [--work-ms 1000] [--qps 50] [--svg FILE])
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { API_VERSION, POOL_LABEL } from '../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { collectionPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { PodFleet } from '../test/support/pod-fleet.ts';
import { sleep, until } from './load.ts';
import { deleteNamespace } from './namespaces.ts';
import { OperatorChild } from './operator-child.ts';
import { Namespaces } from './resources.ts';
import { Recorder } from './results.ts';
import { percentile } from './stats.ts';
import { lineChart, type ChartSpec } from './svg-chart.ts';
import { controlPlane, knob } from './support.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: knob('BENCH_AUTOSCALING_RUNS', '8') },
    tasks: { type: 'string', default: knob('BENCH_AUTOSCALING_TASKS', '200') },
    'work-ms': { type: 'string', default: '1000' },
    qps: { type: 'string', default: knob('BENCH_OPERATOR_QPS', '100') },
    svg: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const TASKS = Number(values.tasks);
const WORK_MS = Number(values['work-ms']);
const MAX_AGENTS = 20;
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const Policies = resourceOfKind(policyKind);
const silent = pino({ level: 'silent' });

interface Sample {
  t: number;
  pending: number;
  desired: number;
  ready: number;
}

const recorder = new Recorder('autoscaling', 'A pool scaling with the queue', {
  runs: RUNS,
  tasks: TASKS,
  workMs: WORK_MS,
  operatorQps: values.qps,
  maxAgents: MAX_AGENTS,
});

await recorder.run(async (r) => {
  const { kubeconfig, client } = controlPlane({ compiledOperator: true });
  const namespace = `bench-scale-${Date.now().toString(36)}`;
  await client.request('POST', collectionPath(Namespaces), { body: { metadata: { name: namespace } } });
  await client.request('POST', collectionPath(Policies, namespace), {
    body: {
      apiVersion: API_VERSION,
      kind: 'OrchestratorPolicy',
      metadata: { name: 'default' },
      spec: {
        autoscaling: {
          pools: [
            {
              name: 'burst',
              template: {
                capabilities: ['burst'],
                runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
                heartbeat: { intervalSeconds: 1, timeoutSeconds: 5 },
              },
              minAgents: 0,
              maxAgents: MAX_AGENTS,
              scaleToZero: true,
              scaleUp: { maxStep: 4 },
              scaleDown: { stabilizationSeconds: 5 },
            },
          ],
        },
      },
    },
  });
  const operator = await OperatorChild.start(kubeconfig, namespace, {
    AO_KUBE_API_QPS: values.qps,
    AO_KUBE_API_BURST: String(Number(values.qps) * 2),
  });
  const stop = new AbortController();
  const fleet = new PodFleet(client, namespace, async (task) => {
    await sleep(WORK_MS);
    return { outcome: 'Succeeded', output: `done ${task.name}`, reason: 'exit code 0', exitCode: 0 };
  });
  try {
    const agents = new Informer<KubeObject>({ client, resource: Agents, namespace, labelSelector: `${POOL_LABEL}=burst`, logger: silent });
    const tasks = new Informer<KubeObject>({ client, resource: Tasks, namespace, logger: silent });
    const policies = new Informer<KubeObject>({ client, resource: Policies, namespace, logger: silent });
    const firstReady = new Map<string, number>();
    const seeReady = (a: KubeObject): void => {
      if ((a.status as { phase?: string } | undefined)?.phase === 'Ready' && !firstReady.has(a.metadata.uid ?? ''))
        firstReady.set(a.metadata.uid ?? '', performance.now());
    };
    agents.addHandler({
      onAdd: seeReady,
      onUpdate: (_o, a) => {
        seeReady(a);
      },
    });
    for (const i of [agents, tasks, policies]) void i.run(stop.signal);
    await Promise.all([agents.waitForSync(), tasks.waitForSync(), policies.waitForSync()]);
    const phaseOf = (o: KubeObject): string | undefined => (o.status as { phase?: string } | undefined)?.phase;
    const readyAgents = (): number => agents.list().filter((a) => ['Ready', 'Busy'].includes(phaseOf(a) ?? '')).length;
    const desired = (): number => (policies.list()[0]?.status as { pools?: { desired: number }[] } | undefined)?.pools?.[0]?.desired ?? 0;
    const createTask = (name: string): Promise<unknown> =>
      client.request('POST', collectionPath(Tasks, namespace), {
        body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: ['burst'] } },
      });
    const allDone = (): boolean => tasks.list().every((t) => phaseOf(t) === 'Succeeded');
    await until('the operator to report the pool', () => policies.list()[0]?.status !== undefined, 60_000);

    // 1. From zero: one task, the pool at zero, until its first agent is Ready.
    const fromZero: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      await until('the pool at zero', () => agents.list().length === 0, 120_000);
      const before = firstReady.size;
      const t0 = performance.now();
      await createTask(`wake-${run}`);
      await until('an agent Ready', () => firstReady.size > before, 60_000);
      fromZero.push(Math.min(...[...firstReady.values()].filter((t) => t >= t0)) - t0);
      await until('the task done', allDone, 60_000);
      process.stderr.write(`from zero, run ${run + 1}/${RUNS}: ${fromZero.at(-1)?.toFixed(0)} ms\n`);
    }
    await until('the pool at zero', () => agents.list().length === 0, 120_000);

    // 2. A burst: every task at once, sampled every 250 ms until the pool is back at zero.
    const samples: Sample[] = [];
    const t0 = performance.now();
    const sampler = setInterval(() => {
      const pending = tasks.list().filter((t) => ['Pending', undefined].includes(phaseOf(t))).length;
      samples.push({ t: (performance.now() - t0) / 1000, pending, desired: desired(), ready: readyAgents() });
    }, 250);
    await Promise.all(Array.from({ length: TASKS }, (_, i) => createTask(`burst-${i}`)));
    await until('the burst done', () => tasks.list().length === TASKS + RUNS && allDone(), 600_000);
    const doneAt = (performance.now() - t0) / 1000;
    await until('the pool back at zero', () => agents.list().length === 0, 300_000);
    const zeroAt = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const executions = [...fleet.executions.values()];

    const firstAt = samples.find((s) => s.ready > 0)?.t ?? NaN;
    const maxAt = samples.find((s) => s.ready >= MAX_AGENTS)?.t ?? NaN;
    r.line(
      `autoscaling, pool min 0 / max ${MAX_AGENTS} / maxStep 4 on kwok, simulated runners, operator at ${values.qps} QPS, node ${process.version}`,
    );
    r.line(
      `  first pending task -> first agent Ready, pool at zero (${RUNS} runs): p50 ${percentile(fromZero, 50).toFixed(0)} ms  p99 ${percentile(fromZero, 99).toFixed(0)} ms`,
    );
    r.line(
      `  ${TASKS}-task burst (${WORK_MS} ms each): first agent Ready at ${firstAt.toFixed(1)} s, ${MAX_AGENTS} Ready at ${maxAt.toFixed(1)} s, all done at ${doneAt.toFixed(1)} s, back to 0 agents at ${zeroAt.toFixed(1)} s`,
    );
    const once = executions.length === TASKS + RUNS && executions.every((e) => e.length === 1);
    r.line(`  every task ran exactly once: ${once}`);
    r.figure('from_zero_p50_ms', percentile(fromZero, 50), 'ms', 'first pending task -> first agent Ready, pool at zero, p50');
    r.figure('from_zero_p99_ms', percentile(fromZero, 99), 'ms', 'first pending task -> first agent Ready, pool at zero, p99');
    r.figure('burst_first_ready_s', firstAt, 's', `${TASKS}-task burst: first agent Ready`);
    r.figure('burst_max_ready_s', maxAt, 's', `${TASKS}-task burst: ${MAX_AGENTS} agents (the cap) Ready`);
    r.figure('burst_done_s', doneAt, 's', `${TASKS}-task burst: all tasks Succeeded`);
    r.figure('burst_back_to_zero_s', zeroAt, 's', `${TASKS}-task burst: back to 0 agents`);
    r.figure('ran_exactly_once', once ? 1 : 0, '', 'every task ran exactly once (1 yes, 0 no)');
    r.line('  t(s)  pending  desired  ready');
    for (const s of samples.filter((_, i) => i % 4 === 0))
      r.line(
        `  ${s.t.toFixed(1).padStart(4)}  ${String(s.pending).padStart(7)}  ${String(s.desired).padStart(7)}  ${String(s.ready).padStart(5)}`,
      );
    const chart = burstChart(samples, `${TASKS}-task burst, pool max ${MAX_AGENTS}`);
    r.chart('burst', chart);
    if (values.svg) {
      writeFileSync(values.svg, lineChart(chart));
      r.line(`  curve drawn into ${values.svg}`);
    }
  } finally {
    stop.abort();
    await fleet.stop();
    await operator.stop();
    await deleteNamespace(client, namespace);
    await client.close();
  }
});

/** The scale-up curve: agents on the left axis, pending tasks on the right. */
function burstChart(samples: readonly Sample[], title: string): ChartSpec {
  return {
    title,
    x: { label: 'seconds since the burst' },
    y: { label: 'agents', max: MAX_AGENTS },
    y2: { label: 'pending tasks' },
    series: [
      { name: 'pending tasks', points: samples.map((s) => [s.t, s.pending]), axis: 'right' },
      { name: 'desired agents', points: samples.map((s) => [s.t, s.desired]), dashed: true },
      { name: 'Ready agents', points: samples.map((s) => [s.t, s.ready]) },
    ],
  };
}
