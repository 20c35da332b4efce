// Benchmark: how long an Agent takes from creation to Ready, for 100 agents created at
// once on kwok nodes, next to the same fleet's Pods going from creation to Running (the
// kube-scheduler + kwok floor every agent pays).
//
//   make bench-agents      (= npm run build, then node bench/agent-registration.ts)
//   node bench/agent-registration.ts [--agents 100] [--qps 50 --burst 100]
//
// A simulated runner renews each agent's Lease as soon as its Pod runs, so "Ready"
// measures the operator (caches, reconcile, Pod creation, status), not a container start.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { API_VERSION } from '../operator/src/api/common.ts';
import { agentKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import { systemClock } from '../operator/src/runtime/clock.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Pods, collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { Heartbeat, newRunnerIdentity } from '../runner/heartbeat.ts';
import { Namespaces } from './resources.ts';
import { controlPlane, percentile, spawnOperator } from './support.ts';

const { values } = parseArgs({
  options: { agents: { type: 'string', default: '100' }, qps: { type: 'string', default: '50' }, burst: { type: 'string', default: '100' } },
});
const COUNT = Number(values.agents);
const Agents = resourceOfKind(agentKind);
const silent = pino({ level: 'silent' });

async function main(): Promise<void> {
  const { kubeconfig, client } = controlPlane({ compiledOperator: true });
  const namespace = `bench-agents-${Date.now().toString(36)}`;
  await client.request('POST', collectionPath(Namespaces), { body: { metadata: { name: namespace } } });

  // A fleet start is bounded by the client-side budget: the defaults are 50 QPS / 100 burst.
  const operator = spawnOperator(kubeconfig, namespace, { AO_KUBE_API_QPS: values.qps, AO_KUBE_API_BURST: values.burst });
  const stop = new AbortController();
  try {
    const created = new Map<string, number>();
    const ready = new Map<string, number>();
    const podCreated = new Map<string, number>();
    const podRunning = new Map<string, number>();
    const agents = new Informer<KubeObject>({ client, resource: Agents, namespace, logger: silent });
    const pods = new Informer<KubeObject>({ client, resource: Pods, namespace, logger: silent });
    agents.addHandler({
      onUpdate: (_old, a) => {
        const name = a.metadata.name ?? '';
        if ((a.status as { phase?: string } | undefined)?.phase === 'Ready' && !ready.has(name)) ready.set(name, performance.now());
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

    const names = Array.from({ length: COUNT }, (_, i) => `bench-agent-${i}`);
    await Promise.all(
      names.map(async (name) => {
        created.set(name, performance.now());
        await client.request('POST', collectionPath(Agents, namespace), {
          body: {
            apiVersion: API_VERSION,
            kind: 'Agent',
            metadata: { name },
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
    const agentMs = names.map((n) => (ready.get(n) ?? NaN) - (created.get(n) ?? NaN));
    const podMs = names.map((n) => (podRunning.get(`agent-${n}`) ?? NaN) - (podCreated.get(`agent-${n}`) ?? NaN));
    console.log(`agent registration, ${COUNT} agents created at once on kwok, operator at ${values.qps} QPS / ${values.burst} burst, node ${process.version}`);
    console.log(`  Agent created -> Ready:    p50 ${percentile(agentMs, 50).toFixed(0)} ms  p99 ${percentile(agentMs, 99).toFixed(0)} ms`);
    console.log(`  its Pod created -> Running: p50 ${percentile(podMs, 50).toFixed(0)} ms  p99 ${percentile(podMs, 99).toFixed(0)} ms (kube-scheduler + kwok)`);
    console.log(`  ratio Agent Ready / Pod Running: p50 ${(percentile(agentMs, 50) / percentile(podMs, 50)).toFixed(2)}x  p99 ${(percentile(agentMs, 99) / percentile(podMs, 99)).toFixed(2)}x`);
  } finally {
    stop.abort();
    operator.kill('SIGTERM');
    await client.request('DELETE', objectPath(Namespaces, undefined, namespace)).catch(() => undefined);
    await client.close();
  }
}

await main();
