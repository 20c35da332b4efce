// Benchmark: a pool scaling with the queue. The compiled operator runs one policy with a
// pool (min 0, max 20, scaleToZero) on kwok; every agent Pod gets a simulated runner
// (test/support/pod-fleet.ts: the real heartbeat and task runner, a scripted executor).
// Reports:
//   - time from the first pending task to the first agent Ready, with the pool at zero
//   - the scale-up curve of a 200-task burst (pending tasks, desired and Ready agents over
//     time), printed and drawn into docs/autoscaling-burst.svg
//
//   make bench-autoscaling   (= node bench/autoscaling.ts [--runs 8] [--tasks 200] [--work-ms 1000] [--qps 50])
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { API_VERSION, POOL_LABEL } from '../operator/src/api/common.ts';
import { agentKind, policyKind, taskKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { PodFleet } from '../test/support/pod-fleet.ts';
import { Namespaces } from './resources.ts';
import { controlPlane, percentile, repo, spawnOperator } from './support.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '8' },
    tasks: { type: 'string', default: '200' },
    'work-ms': { type: 'string', default: '1000' },
    qps: { type: 'string', default: '50' },
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
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

interface Sample {
  t: number;
  pending: number;
  desired: number;
  ready: number;
}

async function main(): Promise<void> {
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
              template: { capabilities: ['burst'], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' }, heartbeat: { intervalSeconds: 1, timeoutSeconds: 5 } },
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
  const operator = spawnOperator(kubeconfig, namespace, { AO_KUBE_API_QPS: values.qps, AO_KUBE_API_BURST: String(Number(values.qps) * 2) });
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
      if ((a.status as { phase?: string } | undefined)?.phase === 'Ready' && !firstReady.has(a.metadata.uid ?? '')) firstReady.set(a.metadata.uid ?? '', performance.now());
    };
    agents.addHandler({ onAdd: seeReady, onUpdate: (_o, a) => { seeReady(a); } });
    for (const i of [agents, tasks, policies]) void i.run(stop.signal);
    await Promise.all([agents.waitForSync(), tasks.waitForSync(), policies.waitForSync()]);
    const phaseOf = (o: KubeObject): string | undefined => (o.status as { phase?: string } | undefined)?.phase;
    const readyAgents = (): number => agents.list().filter((a) => ['Ready', 'Busy'].includes(phaseOf(a) ?? '')).length;
    const desired = (): number => ((policies.list()[0]?.status as { pools?: { desired: number }[] } | undefined)?.pools?.[0]?.desired ?? 0);
    const createTask = (name: string): Promise<unknown> =>
      client.request('POST', collectionPath(Tasks, namespace), { body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: ['burst'] } } });
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
    console.log(`autoscaling, pool min 0 / max ${MAX_AGENTS} / maxStep 4 on kwok, simulated runners, operator at ${values.qps} QPS, node ${process.version}`);
    console.log(`  first pending task -> first agent Ready, pool at zero (${RUNS} runs): p50 ${percentile(fromZero, 50).toFixed(0)} ms  p99 ${percentile(fromZero, 99).toFixed(0)} ms`);
    console.log(`  ${TASKS}-task burst (${WORK_MS} ms each): first agent Ready at ${firstAt.toFixed(1)} s, ${MAX_AGENTS} Ready at ${maxAt.toFixed(1)} s, all done at ${doneAt.toFixed(1)} s, back to 0 agents at ${zeroAt.toFixed(1)} s`);
    console.log(`  every task ran exactly once: ${executions.length === TASKS + RUNS && executions.every((e) => e.length === 1)}`);
    console.log('  t(s)  pending  desired  ready');
    for (const s of samples.filter((_, i) => i % 4 === 0)) console.log(`  ${s.t.toFixed(1).padStart(4)}  ${String(s.pending).padStart(7)}  ${String(s.desired).padStart(7)}  ${String(s.ready).padStart(5)}`);
    const svg = path.join(repo, 'docs/autoscaling-burst.svg');
    writeFileSync(svg, plot(samples, `${TASKS}-task burst, pool max ${MAX_AGENTS}`));
    console.log(`  curve drawn into ${path.relative(repo, svg)}`);
  } finally {
    stop.abort();
    await fleet.stop();
    operator.kill('SIGTERM');
    await client.request('DELETE', objectPath(Namespaces, undefined, namespace)).catch(() => undefined);
    await client.close();
  }
}

/** A small line chart: pending tasks on the right axis, agents on the left. */
function plot(samples: readonly Sample[], title: string): string {
  const W = 640;
  const H = 300;
  const m = { l: 44, r: 50, t: 28, b: 34 };
  const tMax = Math.max(1, ...samples.map((s) => s.t));
  const pMax = Math.max(1, ...samples.map((s) => s.pending));
  const x = (t: number): number => m.l + (t / tMax) * (W - m.l - m.r);
  const yA = (n: number): number => H - m.b - (n / MAX_AGENTS) * (H - m.t - m.b);
  const yP = (n: number): number => H - m.b - (n / pMax) * (H - m.t - m.b);
  const line = (y: (s: Sample) => number, color: string, dash = ''): string =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" ${dash ? `stroke-dasharray="${dash}"` : ''} points="${samples.map((s) => `${x(s.t).toFixed(1)},${y(s).toFixed(1)}`).join(' ')}"/>`;
  const text = (px: number, py: number, s: string, anchor = 'start', color = '#333'): string =>
    `<text x="${px}" y="${py}" font-size="11" font-family="sans-serif" fill="${color}" text-anchor="${anchor}">${s}</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    text(W / 2, 16, title, 'middle'),
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#999"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#999"/>`,
    text(m.l - 6, yA(MAX_AGENTS) + 4, String(MAX_AGENTS), 'end'),
    text(m.l - 6, yA(0) + 4, '0', 'end'),
    text(W - m.r + 6, yP(pMax) + 4, String(pMax), 'start', '#c0392b'),
    text(W - m.r, H - 12, `${tMax.toFixed(0)} s`, 'end'),
    text(m.l, H - 12, '0 s'),
    line((s) => yP(s.pending), '#c0392b'),
    line((s) => yA(s.desired), '#2c7be5', '6 3'),
    line((s) => yA(s.ready), '#27ae60'),
    text(m.l + 10, m.t + 14, 'pending tasks (right axis)', 'start', '#c0392b'),
    text(m.l + 10, m.t + 28, 'desired agents', 'start', '#2c7be5'),
    text(m.l + 10, m.t + 42, 'Ready agents', 'start', '#27ae60'),
    '</svg>',
    '',
  ].join('\n');
}

await main();
