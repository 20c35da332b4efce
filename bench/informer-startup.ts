// Benchmark: how long the operator takes from process start to ready (/readyz 200) with
// 0, 10,000 and 50,000 Tasks to cache, and how much memory (RSS) the process holds once
// it has settled (RSS within 2% for 5 s, or 30 s after ready if it never does): the
// baseline, the cost of each cached object, and the CPU it uses and how fast its memory
// grows meanwhile with nothing to do.
//
//   make bench SCENARIO=startup
//   node bench/informer-startup.ts [--objects 10000,50000] [--runs 3] [--keep]
//
// It measures the operator as shipped: the compiled dist/operator/src/main.js. The Tasks
// are created once per run of this script, the larger counts by adding to the smaller,
// in a namespace it deletes at the end (--keep leaves it for the next run).
import { parseArgs } from 'node:util';
import { API_VERSION } from '../operator/src/api/common.ts';
import { taskKind } from '../operator/src/api/kinds.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { ObjectList } from '../operator/src/runtime/rest/object.ts';
import { isAlreadyExists } from '../operator/src/runtime/errors.ts';
import { pool } from './load.ts';
import { createNamespace, deleteNamespace } from './namespaces.ts';
import { OperatorChild } from './operator-child.ts';
import { Recorder } from './results.ts';
import { RssSampler, waitSettled } from './rss.ts';
import { summarize, type Summary } from './stats.ts';
import { collectionPath, resourceOfKind } from './resources.ts';
import { objectPath } from '../operator/src/runtime/rest/resource.ts';
import { controlPlane, knob } from './support.ts';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', default: knob('BENCH_STARTUP_OBJECTS', '10000,50000') },
    runs: { type: 'string', default: knob('BENCH_STARTUP_RUNS', '3') },
    keep: { type: 'boolean', default: false },
  },
});
const COUNTS = [0, ...values.objects.split(',').filter(Boolean).map(Number)].sort((a, b) => a - b);
const RUNS = Number(values.runs);
const NAMESPACE = 'bench-startup';
const Tasks = resourceOfKind(taskKind);

async function ensureNamespace(client: RestClient, name: string): Promise<void> {
  await createNamespace(client, name).catch((err: unknown) => {
    if (!isAlreadyExists(err)) throw err;
  });
}

async function countTasks(client: RestClient, namespace: string): Promise<number> {
  const list = await client.request<ObjectList>('GET', collectionPath(Tasks, namespace), { query: { limit: 1 } });
  return list.items.length + ((list.metadata as { remainingItemCount?: number }).remainingItemCount ?? 0);
}

/**
 * Creates finished Tasks until the namespace holds `count`: history the operator caches
 * and leaves alone. Their status is the one the operator itself leaves on a task that
 * succeeded (completedAt, the Finished condition, observedGeneration), so it has nothing
 * to write; Pending ones, or a bare phase Succeeded, keep it writing at its client budget
 * for minutes after ready, and the memory read then is not that of an idle process.
 */
async function fill(client: RestClient, namespace: string, count: number): Promise<void> {
  const have = await countTasks(client, namespace);
  // Kept (--keep) from a run that filled more: measuring it would report the larger count.
  if (have > count)
    throw new Error(
      `${namespace} holds ${have} Tasks, more than the ${count} to measure: delete it (kubectl delete namespace ${namespace}) or ask for ${have}`,
    );
  if (have === count) return;
  process.stderr.write(`creating ${count - have} finished Tasks in ${namespace}...\n`);
  const t0 = performance.now();
  const indexes = Array.from({ length: count - have }, (_, i) => have + i);
  await pool(indexes, 48, async (i) => {
    const name = `bench-${i}`;
    await client
      .request('POST', collectionPath(Tasks, namespace), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Task',
          metadata: { name, labels: { bench: 'startup' } },
          spec: { requiredCapabilities: ['bench-startup'], priority: i % 1000, input: `benchmark task ${i}`, payload: { i } },
        },
      })
      .catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
    await client.request('PATCH', objectPath(Tasks, namespace, name, 'status'), {
      body: { status: finished(i) },
      contentType: 'application/merge-patch+json',
    });
  });
  process.stderr.write(`  ${count - have} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}

const FINISHED_AT = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** What the task lifecycle (operator/src/core/task-lifecycle.ts) writes on a task that succeeded on its first attempt. */
function finished(i: number): Record<string, unknown> {
  return {
    phase: 'Succeeded',
    attempts: 1,
    completedAt: FINISHED_AT,
    observedGeneration: 1,
    result: { output: `benchmark task ${i} done`, exitCode: 0 },
    conditions: [
      {
        type: 'Finished',
        status: 'True',
        reason: 'Succeeded',
        message: 'succeeded on attempt 1',
        lastTransitionTime: FINISHED_AT,
        observedGeneration: 1,
      },
    ],
  };
}

interface Sample {
  readyMs: number;
  rssBytes: number;
  cpuPercent: number;
  growthMbPerMinute: number;
  settled: boolean;
}

async function measure(kubeconfig: string, namespace: string, rss: RssSampler, series: string): Promise<Sample> {
  const operator = await OperatorChild.start(kubeconfig, namespace);
  try {
    rss.watch(series, operator.pid, true);
    const readyMs = await operator.waitReady();
    return { readyMs, ...(await waitSettled(operator.pid ?? 0)) };
  } finally {
    await operator.stop('SIGKILL');
  }
}

const recorder = new Recorder('startup', 'Operator start to ready, and memory per cached object', {
  objects: COUNTS.join(','),
  runs: RUNS,
});

await recorder.run(async (r) => {
  const { kubeconfig, client } = controlPlane({ compiledOperator: true });
  const rss = new RssSampler(100);
  try {
    const empty = `${NAMESPACE}-empty`;
    await ensureNamespace(client, NAMESPACE);
    await ensureNamespace(client, empty);
    const results: { count: number; ready: Summary; rss: Summary; cpu: Summary; growth: Summary; unsettled: number }[] = [];
    for (const count of COUNTS) {
      if (count > 0) await fill(client, NAMESPACE, count);
      const samples: Sample[] = [];
      for (let run = 0; run < RUNS; run++)
        samples.push(await measure(kubeconfig, count === 0 ? empty : NAMESPACE, rss, `${count} Tasks, run ${run + 1}`));
      results.push({
        count,
        ready: summarize(samples.map((s) => s.readyMs)),
        rss: summarize(samples.map((s) => s.rssBytes / 2 ** 20)),
        cpu: summarize(samples.map((s) => s.cpuPercent)),
        growth: summarize(samples.map((s) => s.growthMbPerMinute)),
        unsettled: samples.filter((s) => !s.settled).length,
      });
    }
    const base = results[0];
    r.line(`operator start to ready, ${RUNS} runs per size, node ${process.version}`);
    for (const { count, ready, rss: mem, cpu, growth, unsettled } of results) {
      const perObject = base && count > 0 ? ((mem.p50 - base.rss.p50) * 2 ** 20) / count : NaN;
      r.line(
        `  ${String(count).padStart(6)} Tasks: ready p50 ${ready.p50.toFixed(0)} ms  max ${ready.max.toFixed(0)} ms;  settled RSS p50 ${mem.p50.toFixed(1)} MB${count > 0 ? `, ${perObject.toFixed(0)} bytes per cached Task` : ''};  CPU meanwhile p50 ${cpu.p50.toFixed(1)}% of a core${unsettled ? `; ${unsettled} of ${RUNS} runs had not settled 30 s after ready (RSS growing ${growth.p50.toFixed(1)} MB/min): RSS read then` : ''}`,
      );
      r.figure(`ready_${count}_p50_ms`, ready.p50, 'ms', `start -> ready p50, ${count} Tasks`);
      r.figure(`ready_${count}_max_ms`, ready.max, 'ms', `start -> ready, slowest of ${RUNS} runs, ${count} Tasks`);
      r.figure(`rss_${count}_mb`, mem.p50, 'MB', `settled RSS p50, ${count} Tasks`);
      r.figure(
        `rss_growth_${count}_mb_per_min`,
        growth.p50,
        'MB/min',
        `RSS growth over the last 5 s before it was read p50, ${count} Tasks`,
      );
      r.figure(
        `cpu_${count}_pct`,
        cpu.p50,
        '%',
        `CPU of the settled process (nothing to do but hold its caches) p50, % of a core, ${count} Tasks`,
      );
      if (count > 0)
        r.figure(`rss_per_object_${count}_bytes`, perObject, 'B', `RSS per cached Task, (RSS with ${count} - RSS with 0) / ${count}`);
    }
    const largest = results.at(-1);
    if (base && largest && largest.count > 0) {
      r.line(
        `  ratios ${largest.count} / 0 Tasks: ready ${(largest.ready.p50 / base.ready.p50).toFixed(2)}x, RSS ${(largest.rss.p50 / base.rss.p50).toFixed(2)}x`,
      );
      r.figure(
        `ready_ratio_${largest.count}`,
        largest.ready.p50 / base.ready.p50,
        'x',
        `start -> ready p50 with ${largest.count} Tasks / with 0`,
      );
    }
    // RSS with N against none also counts what the first list leaves behind (V8 keeps the
    // heap it grew for it); the slope between the two largest sizes is the cache's own cost.
    const [below, top] = results.slice(-2);
    if (below && top && below.count > 0 && top.count > below.count) {
      const marginal = ((top.rss.p50 - below.rss.p50) * 2 ** 20) / (top.count - below.count);
      r.line(
        `  each Task past ${below.count}: ${marginal.toFixed(0)} bytes of RSS ((RSS with ${top.count} - RSS with ${below.count}) / ${top.count - below.count})`,
      );
      r.figure('rss_per_object_marginal_bytes', marginal, 'B', `RSS per cached Task between ${below.count} and ${top.count} Tasks`);
    }
    // One run per size, for the chart: how memory grows while the caches fill.
    r.chart('rss', {
      title: 'operator resident memory from process start (first run per size)',
      x: { label: 'seconds since the process started' },
      y: { label: 'MB' },
      series: rss.series().filter((s) => s.name.endsWith('run 1')),
    });
  } finally {
    rss.stop();
    if (!values.keep) {
      await deleteNamespace(client, NAMESPACE);
      await deleteNamespace(client, `${NAMESPACE}-empty`);
    }
    await client.close();
  }
});
