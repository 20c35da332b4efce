// Benchmark: how long an Agent takes from creation to Ready, for 100 agents created at
// once (or at a steady --rate per second) on kwok nodes, next to the same fleet's Pods
// going from creation to Running (the kube-scheduler + kwok floor every agent pays), and
// what each new agent costs in API requests, per client of the operator.
//
//   make bench-agents      (= npm run build, then node bench/agent-registration.ts)
//   node bench/agent-registration.ts [--agents 100] [--rate 10] [--finalizer] [--qps 50 --burst 100]
//
// A simulated runner renews each agent's Lease as soon as its Pod runs, so "Ready"
// measures the operator (caches, reconcile, Pod creation, status), not a container start.
import { createServer } from 'node:net';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { pino } from 'pino';
import { API_VERSION, WORKLOAD_FINALIZER } from '../operator/src/api/common.ts';
import { agentKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import { systemClock } from '../operator/src/runtime/clock.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Pods, collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { Heartbeat, newRunnerIdentity } from '../runner/heartbeat.ts';
import { Namespaces } from './resources.ts';
import { controlPlane, loadAverage, percentile, spawnOperator } from './support.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '100' },
    // Agents created per second; 0 creates them all at once.
    rate: { type: 'string', default: '0' },
    // Create the Agents with the workload finalizer already set, as a pool does.
    finalizer: { type: 'boolean', default: false },
    qps: { type: 'string', default: '50' },
    burst: { type: 'string', default: '100' },
  },
});
const COUNT = Number(values.agents);
const RATE = Number(values.rate);
const Agents = resourceOfKind(agentKind);
const silent = pino({ level: 'silent' });

async function main(): Promise<void> {
  const { kubeconfig, client } = controlPlane({ compiledOperator: true });
  const namespace = `bench-agents-${Date.now().toString(36)}`;
  await client.request('POST', collectionPath(Namespaces), { body: { metadata: { name: namespace } } });

  // A fleet start is bounded by the client-side budget: the defaults are 50 QPS / 100 burst.
  const metricsAddress = `127.0.0.1:${String(await freePort())}`;
  const operator = spawnOperator(kubeconfig, namespace, {
    AO_KUBE_API_QPS: values.qps,
    AO_KUBE_API_BURST: values.burst,
    AO_METRICS_BIND_ADDRESS: metricsAddress,
  });
  const stop = new AbortController();
  try {
    const created = new Map<string, number>();
    const ready = new Map<string, number>();
    const podCreated = new Map<string, number>();
    const podRunning = new Map<string, number>();
    const writes = new Map<string, string[]>();
    const agents = new Informer<KubeObject>({ client, resource: Agents, namespace, logger: silent });
    const pods = new Informer<KubeObject>({ client, resource: Pods, namespace, logger: silent });
    agents.addHandler({
      onUpdate: (old, a) => {
        const name = a.metadata.name ?? '';
        const phase = (a.status as { phase?: string } | undefined)?.phase;
        if (phase === 'Ready' && !ready.has(name)) ready.set(name, performance.now());
        // Every status write until Ready, named by the phase it wrote.
        if (!ready.has(name) || phase === 'Ready') {
          if (a.metadata.resourceVersion !== old.metadata.resourceVersion && !isDeepStrictEqual(a.status, old.status)) {
            writes.set(name, [...(writes.get(name) ?? []), phase ?? '-']);
          }
        }
      },
    });
    pods.addHandler({
      onAdd: (p) => podCreated.set(p.metadata.name ?? '', performance.now()),
      onUpdate: (_old, p) => {
        const name = p.metadata.name ?? '';
        if ((p.status as { phase?: string } | undefined)?.phase !== 'Running' || podRunning.has(name)) return;
        podRunning.set(name, performance.now());
        const agent = name.replace(/^agent-/, '');
        const owner = p.metadata.ownerReferences?.[0]?.uid ?? '';
        // The simulated runner: its first heartbeat goes out the moment the Pod runs.
        void new Heartbeat({ client, namespace, agent, agentUid: owner, identity: newRunnerIdentity(agent), intervalMs: 5000, timeoutMs: 30000, clock: systemClock, logger: silent }).run(stop.signal);
      },
    });
    void agents.run(stop.signal);
    void pods.run(stop.signal);
    await Promise.all([agents.waitForSync(), pods.waitForSync()]);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // let the operator sync its caches
    const before = await requestCounts(metricsAddress);
    const loadBefore = loadAverage();

    const names = Array.from({ length: COUNT }, (_, i) => `bench-agent-${i}`);
    const start = performance.now();
    await Promise.all(
      names.map(async (name, i) => {
        if (RATE > 0) await new Promise((resolve) => setTimeout(resolve, Math.max(0, start + (i * 1000) / RATE - performance.now())));
        created.set(name, performance.now());
        await client.request('POST', collectionPath(Agents, namespace), {
          body: {
            apiVersion: API_VERSION,
            kind: 'Agent',
            metadata: { name, ...(values.finalizer ? { finalizers: [WORKLOAD_FINALIZER] } : {}) },
            spec: { capabilities: ['bench'], runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' } },
          },
        });
      }),
    );
    const deadline = performance.now() + 300_000;
    while (ready.size < COUNT) {
      if (performance.now() > deadline) throw new Error(`only ${ready.size}/${COUNT} agents became Ready within 5 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const after = await requestCounts(metricsAddress);
    const agentMs = names.map((n) => (ready.get(n) ?? NaN) - (created.get(n) ?? NaN));
    const podMs = names.map((n) => (podRunning.get(`agent-${n}`) ?? NaN) - (podCreated.get(`agent-${n}`) ?? NaN));
    const pace = `${RATE > 0 ? `at ${String(RATE)}/s` : 'at once'}${values.finalizer ? ' with the finalizer set (as a pool does)' : ''}`;
    console.log(`agent registration, ${COUNT} agents created ${pace} on kwok, operator at ${values.qps} QPS / ${values.burst} burst, node ${process.version}`);
    console.log(`  load average before ${loadBefore}, after ${loadAverage()}`);
    console.log(`  all Ready ${(Math.max(...ready.values()) - start).toFixed(0)} ms after the first was created`);
    console.log(`  Agent created -> Ready:    p50 ${percentile(agentMs, 50).toFixed(0)} ms  p99 ${percentile(agentMs, 99).toFixed(0)} ms`);
    console.log(`  its Pod created -> Running: p50 ${percentile(podMs, 50).toFixed(0)} ms  p99 ${percentile(podMs, 99).toFixed(0)} ms (kube-scheduler + kwok)`);
    console.log(`  ratio Agent Ready / Pod Running: p50 ${(percentile(agentMs, 50) / percentile(podMs, 50)).toFixed(2)}x  p99 ${(percentile(agentMs, 99) / percentile(podMs, 99)).toFixed(2)}x`);
    printRequests(before, after);
    const paths = new Map<string, number>();
    for (const w of writes.values()) paths.set(w.join(' → '), (paths.get(w.join(' → ')) ?? 0) + 1);
    console.log(`  status writes until Ready: ${[...paths].sort((a, b) => b[1] - a[1]).map(([p, n]) => `${p} ×${String(n)}`).join(', ')}`);
  } finally {
    stop.abort();
    operator.kill('SIGTERM');
    await client.request('DELETE', objectPath(Namespaces, undefined, namespace)).catch(() => undefined);
    await client.close();
  }
}

/** A port nothing listens on now, for the operator's metrics. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

const REQUESTS = /^agent_orchestrator_client_requests_total\{client="([^"]*)",verb="([^"]*)",resource="([^"]*)"\} (\d+)/;

/** The operator's requests so far, by "client verb resource"; waits for its metrics server. */
async function requestCounts(address: string): Promise<Map<string, number>> {
  for (let tries = 0; ; tries++) {
    try {
      const text = await (await fetch(`http://${address}/metrics`)).text();
      const counts = new Map<string, number>();
      for (const line of text.split('\n')) {
        const m = REQUESTS.exec(line);
        if (m) counts.set(`${m[1] ?? ''} ${m[2] ?? ''} ${m[3] ?? ''}`, Number(m[4]));
      }
      return counts;
    } catch (err) {
      if (tries > 100) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Requests per new agent between two scrapes, by client, then verb and resource. */
function printRequests(before: Map<string, number>, after: Map<string, number>): void {
  const rows = [...after]
    .map(([key, n]) => [key, (n - (before.get(key) ?? 0)) / COUNT] as const)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  for (const client of new Set(rows.map(([key]) => key.split(' ')[0]))) {
    const mine = rows.filter(([key]) => key.startsWith(`${client ?? ''} `));
    const total = mine.reduce((sum, [, n]) => sum + n, 0);
    console.log(`  requests per agent, client ${client ?? ''}: ${total.toFixed(2)}`);
    for (const [key, n] of mine) console.log(`    ${key.split(' ').slice(1).join(' ').padEnd(40)} ${n.toFixed(2)}`);
  }
}

await main();
