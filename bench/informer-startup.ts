// Benchmark: how long the operator takes from process start to ready (/readyz 200) with
// N objects to cache, and how much memory (RSS) the idle manager then holds.
//
//   make bench        (= npm run build, then node bench/informer-startup.ts)
//   node bench/informer-startup.ts [--objects 10000] [--runs 5]
//
// It measures the operator as shipped: the compiled dist/operator/src/main.js. It starts
// the local control plane when none runs. Objects are Tasks in the namespace
// bench-informer, created once and reused by later runs.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { API_VERSION } from '../operator/src/api/common.ts';
import { taskKind } from '../operator/src/api/kinds.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { ObjectList } from '../operator/src/runtime/rest/object.ts';
import { Namespaces, collectionPath, resourceOfKind } from './resources.ts';
import { controlPlane, percentile, spawnOperator } from './support.ts';

const { values } = parseArgs({ options: { objects: { type: 'string', default: '10000' }, runs: { type: 'string', default: '5' } } });
const OBJECTS = Number(values.objects);
const RUNS = Number(values.runs);
const NAMESPACE = 'bench-informer';
const EMPTY_NAMESPACE = 'bench-informer-empty';
const Tasks = resourceOfKind(taskKind);

async function ensureNamespace(client: RestClient, name: string): Promise<void> {
  await client.request('POST', collectionPath(Namespaces), { body: { metadata: { name } } }).catch(() => undefined);
}

/** Creates Tasks until the namespace holds `count`, with some requests in flight at once. */
async function ensureObjects(client: RestClient, count: number): Promise<void> {
  const list = await client.request<ObjectList>('GET', collectionPath(Tasks, NAMESPACE), { query: { limit: 1 } });
  const existing = (list.metadata as { remainingItemCount?: number }).remainingItemCount ?? 0;
  const have = list.items.length + existing;
  if (have >= count) return;
  process.stderr.write(`creating ${count - have} Tasks in ${NAMESPACE}...\n`);
  let next = have;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await client.request('POST', collectionPath(Tasks, NAMESPACE), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Task',
          metadata: { name: `bench-${i}`, labels: { bench: 'informer' } },
          spec: { requiredCapabilities: ['typescript'], priority: i % 1000, input: `benchmark task ${i}`, payload: { i } },
        },
      }).catch((err: unknown) => {
        if (!String(err).includes('AlreadyExists')) throw err;
      });
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
}

interface Sample {
  readyMs: number;
  rssBytes: number;
}

/** Starts the operator on one namespace; returns time to ready and RSS once settled. */
async function measure(kubeconfig: string, namespace: string): Promise<Sample> {
  const started = performance.now();
  const child = spawnOperator(kubeconfig, namespace, { AO_HEALTH_PROBE_BIND_ADDRESS: '127.0.0.1:0', AO_LOG_LEVEL: 'info' }, ['ignore', 'pipe', 'inherit']);
  let probe: string | undefined;
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const m = /"address":"([^"]+)","paths":\["\/healthz"/.exec(buffered);
    if (m) probe = m[1];
  });
  try {
    const deadline = started + 300_000;
    for (;;) {
      if (performance.now() > deadline) throw new Error('the operator did not become ready within 5 minutes');
      if (probe) {
        const res = await fetch(`http://${probe}/readyz`).catch(() => undefined);
        if (res?.status === 200) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const readyMs = performance.now() - started;
    // Idle: let the post-sync garbage settle before reading RSS.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const status = readFileSync(`/proc/${String(child.pid)}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
    return { readyMs, rssBytes: rssKb * 1024 };
  } finally {
    child.kill('SIGKILL');
  }
}

function summary(samples: number[]): { p50: number; p99: number } {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function main(): Promise<void> {
  const { kubeconfig, client } = controlPlane({ compiledOperator: true });
  await ensureNamespace(client, NAMESPACE);
  await ensureNamespace(client, EMPTY_NAMESPACE);
  await ensureObjects(client, OBJECTS);

  const full: Sample[] = [];
  const empty: Sample[] = [];
  for (let run = 0; run < RUNS; run++) {
    empty.push(await measure(kubeconfig, EMPTY_NAMESPACE));
    full.push(await measure(kubeconfig, NAMESPACE));
  }
  const mb = (b: number): string => (b / 1024 / 1024).toFixed(1);
  const ready = { full: summary(full.map((s) => s.readyMs)), empty: summary(empty.map((s) => s.readyMs)) };
  const rss = { full: summary(full.map((s) => s.rssBytes)), empty: summary(empty.map((s) => s.rssBytes)) };
  console.log(`informer startup, ${String(RUNS)} runs each, node ${process.version}`);
  console.log(`  time to ready, ${String(OBJECTS)} Tasks: p50 ${ready.full.p50.toFixed(0)} ms  p99 ${ready.full.p99.toFixed(0)} ms`);
  console.log(`  time to ready, 0 Tasks:      p50 ${ready.empty.p50.toFixed(0)} ms  p99 ${ready.empty.p99.toFixed(0)} ms`);
  console.log(`  idle RSS, ${String(OBJECTS)} Tasks:      p50 ${mb(rss.full.p50)} MB  p99 ${mb(rss.full.p99)} MB`);
  console.log(`  idle RSS, 0 Tasks:           p50 ${mb(rss.empty.p50)} MB  p99 ${mb(rss.empty.p99)} MB`);
  console.log(`  ratios (${String(OBJECTS)} / 0): ready ${(ready.full.p50 / ready.empty.p50).toFixed(2)}x, RSS ${(rss.full.p50 / rss.empty.p50).toFixed(2)}x`);
  console.log(`  cache cost: ${((rss.full.p50 - rss.empty.p50) / OBJECTS).toFixed(0)} bytes of RSS per cached Task`);
  await client.close();
}

await main();
