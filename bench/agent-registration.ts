// Benchmark: Agent created -> Ready on kwok nodes, for a steady stream of new agents and
// for two bursts, next to each agent's Pod going from created to Running (the
// kube-scheduler + kwok floor every agent pays). Each phase gets a fresh namespace and a
// fresh compiled operator, so one phase's fleet (its heartbeats, its status writes) does
// not weigh on the next.
//
//   make bench SCENARIO=registration
//   node bench/agent-registration.ts [--rate 10] [--seconds 20] [--bursts 100,1000] [--finalizer] [--qps 100 --burst 200]
//
// Each phase also prints what a new agent costs in API requests, per client of the
// operator, verb and resource (from its agent_orchestrator_client_requests_total).
// --finalizer creates the Agents with the workload finalizer already set, as a pool does.
//
// A simulated runner renews each agent's Lease from the moment its Pod runs (every 10 s,
// the default heartbeat), so "Ready" measures the operator (caches, reconcile, Pod
// creation, status), not a container start.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { API_VERSION, WORKLOAD_FINALIZER } from '../operator/src/api/common.ts';
import { agentKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import { systemClock } from '../operator/src/runtime/clock.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Pods, collectionPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { Heartbeat, newRunnerIdentity } from '../runner/heartbeat.ts';
import { useKwokNodes } from './kwok-nodes.ts';
import { allSeen, firstSeen, pool, steady } from './load.ts';
import { createNamespace, deleteNamespace } from './namespaces.ts';
import { OperatorChild, freePort } from './operator-child.ts';
import { Recorder } from './results.ts';
import { RssSampler } from './rss.ts';
import { cdf, ratePerSecond, summarize, type Summary } from './stats.ts';
import { cdfChart } from './svg-chart.ts';
import { controlPlane, knob } from './support.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: knob('BENCH_REGISTRATION_RATE', '10') },
    seconds: { type: 'string', default: knob('BENCH_REGISTRATION_SECONDS', '20') },
    bursts: { type: 'string', default: knob('BENCH_REGISTRATION_BURSTS', '100,1000') },
    qps: { type: 'string', default: knob('BENCH_OPERATOR_QPS', '100') },
    burst: { type: 'string', default: knob('BENCH_OPERATOR_BURST', '200') },
    finalizer: { type: 'boolean', default: false },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const BURSTS = values.bursts.split(',').filter(Boolean).map(Number);
const Agents = resourceOfKind(agentKind);
const silent = pino({ level: 'silent' });
const phaseOf = (o: KubeObject): string | undefined => (o.status as { phase?: string } | undefined)?.phase;
/** kwok nodes hold 110 Pods each; leave some room. */
const PODS_PER_NODE = 100;

interface Phase {
  label: string;
  title: string;
  agentMs: number[];
  agent: Summary;
  pod: Summary;
  allReadySeconds: number;
  readyPerSecond: [number, number][];
  /** Requests per new agent, by "client verb resource". */
  requests: Map<string, number>;
}

async function phase(
  kubeconfig: string,
  client: RestClient,
  rss: RssSampler,
  label: string,
  title: string,
  count: number,
  rate: number | undefined,
): Promise<Phase> {
  const namespace = `bench-agents-${label}-${Date.now().toString(36)}`;
  await createNamespace(client, namespace);
  const stop = new AbortController();
  const metrics = `127.0.0.1:${String(await freePort())}`;
  const operator = await OperatorChild.start(kubeconfig, namespace, {
    AO_KUBE_API_QPS: values.qps,
    AO_KUBE_API_BURST: values.burst,
    AO_METRICS_BIND_ADDRESS: metrics,
  });
  try {
    rss.watch(`operator (${title})`, operator.pid);
    const agents = new Informer<KubeObject>({ client, resource: Agents, namespace, logger: silent });
    const pods = new Informer<KubeObject>({ client, resource: Pods, namespace, logger: silent });
    const ready = firstSeen(agents, (a) => phaseOf(a) === 'Ready');
    const podCreated = firstSeen(pods, () => true);
    const podRunning = firstSeen(pods, (p) => phaseOf(p) === 'Running');
    pods.addHandler({
      onUpdate: (old, p) => {
        if (phaseOf(p) !== 'Running' || phaseOf(old) === 'Running') return;
        const agent = (p.metadata.name ?? '').replace(/^agent-/, '');
        const owner = p.metadata.ownerReferences?.[0]?.uid ?? '';
        // The simulated runner: its first heartbeat goes out the moment the Pod runs.
        void new Heartbeat({
          client,
          namespace,
          agent,
          agentUid: owner,
          identity: newRunnerIdentity(agent),
          intervalMs: 10_000,
          timeoutMs: 30_000,
          clock: systemClock,
          logger: silent,
        })
          .run(stop.signal)
          .catch(() => undefined);
      },
    });
    for (const i of [agents, pods]) void i.run(stop.signal);
    await Promise.all([agents.waitForSync(), pods.waitForSync(), operator.waitReady()]);

    const names = Array.from({ length: count }, (_, i) => `${label}-${i}`);
    const created = new Map<string, number>();
    const create = async (name: string): Promise<void> => {
      created.set(name, performance.now());
      await client.request('POST', collectionPath(Agents, namespace), {
        body: {
          apiVersion: API_VERSION,
          kind: 'Agent',
          metadata: { name, ...(values.finalizer ? { finalizers: [WORKLOAD_FINALIZER] } : {}) },
          spec: { capabilities: ['bench'], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' } },
        },
      });
    };
    process.stderr.write(`${title}: ${count} agents...\n`);
    const before = await requestCounts(metrics);
    const t0 = performance.now();
    if (rate === undefined) await pool(names, 100, create);
    else await steady(names, rate, create);
    await allSeen('agents Ready', ready, names, 900_000);
    const after = await requestCounts(metrics);
    const requests = new Map([...after].map(([key, n]) => [key, (n - (before.get(key) ?? 0)) / count] as const).filter(([, n]) => n > 0));
    const agentMs = names.map((n) => (ready.get(n) ?? NaN) - (created.get(n) ?? NaN));
    const podMs = names.map((n) => (podRunning.get(`agent-${n}`) ?? NaN) - (podCreated.get(`agent-${n}`) ?? NaN));
    const readyTimes = names.map((n) => ready.get(n) ?? NaN);
    return {
      label,
      title,
      agentMs,
      agent: summarize(agentMs),
      pod: summarize(podMs),
      allReadySeconds: (Math.max(...readyTimes) - t0) / 1000,
      readyPerSecond: ratePerSecond(readyTimes, t0),
      requests,
    };
  } finally {
    stop.abort();
    await operator.stop();
    await deleteNamespace(client, namespace);
  }
}

const REQUESTS = /^agent_orchestrator_client_requests_total\{client="([^"]*)",verb="([^"]*)",resource="([^"]*)"\} (\d+)/;

/** The operator's requests so far, by "client verb resource". */
async function requestCounts(address: string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://${address}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = REQUESTS.exec(line);
    if (m) counts.set(`${m[1] ?? ''} ${m[2] ?? ''} ${m[3] ?? ''}`, Number(m[4]));
  }
  return counts;
}

/** Requests per new agent in one phase, by client, then verb and resource. */
function printRequests(r: Recorder, p: Phase): void {
  const rows = [...p.requests].sort(([a], [b]) => a.localeCompare(b));
  const total = rows.reduce((sum, [, n]) => sum + n, 0);
  r.line(`  requests per new agent, ${p.title}: ${total.toFixed(2)}`);
  r.figure(`${p.label}_requests_per_agent`, total, 'requests', `operator API requests per new agent, ${p.title}`);
  for (const [key, n] of rows) r.line(`    ${key.padEnd(48)} ${n.toFixed(2)}`);
}

const recorder = new Recorder('registration', 'Agent registration: created -> Ready', {
  rate: RATE,
  seconds: SECONDS,
  bursts: values.bursts,
  finalizer: values.finalizer,
  operatorQps: values.qps,
  operatorBurst: values.burst,
});

await recorder.run(async (r) => {
  const { kubeconfig, client } = controlPlane({ compiledOperator: true });
  const biggest = Math.max(RATE * SECONDS, ...BURSTS);
  const restoreNodes = await useKwokNodes(client, Math.ceil(biggest / PODS_PER_NODE) + 1);
  const rss = new RssSampler();
  try {
    const phases: Phase[] = [];
    if (RATE * SECONDS > 0)
      phases.push(await phase(kubeconfig, client, rss, `r${RATE}`, `${RATE} agents/s for ${SECONDS} s`, RATE * SECONDS, RATE));
    for (const b of BURSTS) phases.push(await phase(kubeconfig, client, rss, `b${b}`, `${b} agents at once`, b, undefined));

    r.line(`agent registration on kwok, operator at ${values.qps} QPS / ${values.burst} burst, node ${process.version}`);
    r.line('                                Agent created -> Ready      Pod created -> Running      all Ready');
    for (const p of phases) {
      r.line(
        `  ${p.title.padEnd(28)} p50 ${p.agent.p50.toFixed(0).padStart(6)} p99 ${p.agent.p99.toFixed(0).padStart(6)} ms   p50 ${p.pod.p50.toFixed(0).padStart(5)} p99 ${p.pod.p99.toFixed(0).padStart(5)} ms   ${p.allReadySeconds.toFixed(1)} s`,
      );
      r.figure(`${p.label}_ready_p50_ms`, p.agent.p50, 'ms', `Agent created -> Ready p50, ${p.title}`);
      r.figure(`${p.label}_ready_p99_ms`, p.agent.p99, 'ms', `Agent created -> Ready p99, ${p.title}`);
      r.figure(`${p.label}_all_ready_s`, p.allReadySeconds, 's', `first created -> all Ready, ${p.title}`);
      r.figure(`${p.label}_pod_running_p99_ms`, p.pod.p99, 'ms', `its Pod created -> Running p99 (kube-scheduler + kwok), ${p.title}`);
      r.figure(`${p.label}_ratio_p99`, p.agent.p99 / p.pod.p99, 'x', `p99 Agent Ready / Pod Running, ${p.title}`);
    }
    for (const p of phases) printRequests(r, p);
    r.chart(
      'cdf',
      cdfChart(
        'Agent created -> Ready',
        'milliseconds',
        phases.map((p) => ({ name: p.title, points: cdf(p.agentMs) })),
      ),
    );
    r.chart('ready-per-second', {
      title: 'agents becoming Ready per second',
      x: { label: 'seconds since the first agent was created' },
      y: { label: 'Ready per second' },
      series: phases.map((p) => ({ name: p.title, points: p.readyPerSecond })),
    });
    r.chart('rss', {
      title: 'operator resident memory, one process per phase',
      x: { label: 'seconds since the scenario started' },
      y: { label: 'MB' },
      series: rss.series(),
    });
  } finally {
    rss.stop();
    restoreNodes();
    await client.close();
  }
});
