// The bad-input fuzzer: random, schema-valid but hostile Agents, Tasks and
// OrchestratorPolicies created through the real API server against the operator running
// as a child process, with simulated runners serving some agents so tasks move through
// their phases. Then it checks that the operator never crashed, never wrote a status the
// schema refused, does not loop hot once the fuzz stops, and reported every object.
//
//   make fuzz [COUNT=10000] [SEED=n]     make fuzz-bounded (1,000 objects, in make test)
//   node fuzz/run.ts --count 1000 --seed 42 [--quiet-seconds 20] [--keep]
//
// A script, not a vitest test: it runs for minutes, prints a table and a replay command,
// and its figures go into docs/reliability.md, as bench/ does.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { agentKind, policyKind, taskKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import { ApiError } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import { keyOf, type KubeObject } from '../operator/src/runtime/rest/object.ts';
import { collectionPath, objectPath, resourceOfKind, type ResourceType } from '../operator/src/runtime/rest/resource.ts';
import { pino } from 'pino';
import { controlPlane } from '../bench/support.ts';
import { place, type Placed } from './names.ts';
import { batch, DEAD_DOCKER_HOSTS, type Plan } from './objects.ts';
import { FuzzedOperator, samplesBy } from './operator.ts';
import { agentFinding, policyFinding, refusalReason, taskFinding } from './reported.ts';
import { Runners } from './runners.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: process.env.SEED || undefined },
    count: { type: 'string', default: process.env.COUNT || '1000' },
    'quiet-seconds': { type: 'string', default: '20' },
    'settle-seconds': { type: 'string', default: '240' },
    'cpu-bound': { type: 'string', default: '0.10' },
    'writes-bound': { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '12' },
    keep: { type: 'boolean', default: false },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const count = Number(values.count);
const quietMs = Number(values['quiet-seconds']) * 1000;
const settleMs = Number(values['settle-seconds']) * 1000;
const cpuBound = Number(values['cpu-bound']);
const writesBound = Number(values['writes-bound']);
const concurrency = Number(values.concurrency);
/** An agent deleted longer ago than this and still there is stuck (the operator's removal timeout is 20 s here). */
const STUCK_AFTER_MS = 90_000;

const replay = `node fuzz/run.ts --seed ${seed} --count ${count}`;
const out = path.join(process.env.AO_STATE_DIR ?? '/tmp/agent-orchestrator', 'fuzz', String(seed));
mkdirSync(out, { recursive: true });
const say = (line: string): void => {
  process.stderr.write(`[fuzz +${((performance.now() - t0) / 1000).toFixed(0)}s] ${line}\n`);
};
const t0 = performance.now();
console.log(`fuzz: seed ${seed}, ${count} objects; replay: ${replay}`);

const KINDS: Record<Plan['kind'], ResourceType> = {
  Agent: resourceOfKind(agentKind),
  Task: resourceOfKind(taskKind),
  OrchestratorPolicy: resourceOfKind(policyKind),
};

// --- generate -------------------------------------------------------------------------
const batches: Plan[][] = [];
let planned = 0;
for (let round = 0; planned < count; round++) {
  for (const b of fc.sample(batch, { seed: seed + round, numRuns: 200 })) {
    batches.push(b);
    planned += b.length;
    if (planned >= count) break;
  }
}

// --- set up ---------------------------------------------------------------------------
const { kubeconfig, client } = controlPlane();
const nsCount = Math.max(1, Math.min(5, Math.ceil(count / 2000)));
const namespaces: string[] = [];
for (let i = 0; i < nsCount; i++) {
  const ns = await client.request<KubeObject>('POST', '/api/v1/namespaces', {
    body: {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { generateName: 'fuzz-', labels: { 'fuzz.agent-orchestrator.dev/seed': String(seed) } },
    },
  });
  namespaces.push(ns.metadata.name ?? '');
}
for (const ns of namespaces)
  await waitUntil(`ServiceAccount default in ${ns}`, 60_000, () => exists(client, `/api/v1/namespaces/${ns}/serviceaccounts/default`));
const placed = place(batches, namespaces, count);
say(`namespaces ${namespaces.join(', ')}; ${placed.length} objects planned`);

mkdirSync('/tmp/agent-orchestrator-fuzz', { recursive: true });
const operator = await FuzzedOperator.start(kubeconfig, namespaces, path.join(out, 'operator.log'), {
  AO_KUBE_API_QPS: '200',
  AO_KUBE_API_BURST: '400',
  AO_AGENT_STARTUP_GRACE: '30',
  AO_AGENT_DRAIN_GRACE: '5',
  AO_AGENT_REMOVAL_TIMEOUT: '20',
  AO_DOCKER_HOST: DEAD_DOCKER_HOSTS[0] ?? '',
  AO_DOCKER_REQUEST_TIMEOUT: '2',
  AO_DOCKER_PULL_POLICY: 'Never',
  AO_DOCKER_NETWORK: 'none',
  AO_TASK_REASSIGN_DELAY: '1',
});
await operator.waitReady();
const pid = operator.pid;
say(`operator ready (pid ${pid}), log ${path.join(out, 'operator.log')}`);

// Caches of what the checks read, and how often each object changed.
const silent = pino({ level: 'silent' });
const stop = new AbortController();
const caches = new Map<Plan['kind'], Informer<KubeObject>[]>();
const changes = new Map<string, number>();
const idleWrites = new Map<string, number>();
let lastProgressAt = Date.now();
let counting = false;
const deleteWhen = new Map<string, { kind: Plan['kind']; phase: string }>();
const deleted = new Set<string>();
let deleting = true;
for (const [kind, rt] of Object.entries(KINDS) as [Plan['kind'], ResourceType][]) {
  const list: Informer<KubeObject>[] = [];
  for (const namespace of namespaces) {
    const inf = new Informer<KubeObject>({ client, resource: rt, namespace, logger: silent });
    inf.addHandler({
      onAdd: () => undefined,
      onUpdate: (old, obj) => {
        const key = `${kind}/${keyOf(obj)}`;
        // A write that moves the object on (a phase, an attempt, a spec) is work its spec
        // asks for (a task retried 100 times with a 1 s timeout keeps changing); one that
        // moves nothing is what a loop looks like.
        const moved = progressOf(old) !== progressOf(obj);
        if (moved) lastProgressAt = Date.now();
        if (counting) {
          changes.set(key, (changes.get(key) ?? 0) + 1);
          if (!moved) idleWrites.set(key, (idleWrites.get(key) ?? 0) + 1);
        }
        const when = deleteWhen.get(key);
        const phase = (obj.status as { phase?: string } | undefined)?.phase;
        if (deleting && when && phase === when.phase && !deleted.has(key)) {
          deleted.add(key);
          void client.request('DELETE', objectPath(rt, obj.metadata.namespace, obj.metadata.name ?? '')).catch(() => undefined);
        }
      },
      onDelete: () => undefined,
    });
    void inf.run(stop.signal);
    list.push(inf);
  }
  caches.set(kind, list);
}
const runners = new Runners(client, namespaces);

// --- fuzz -----------------------------------------------------------------------------
const created = new Map<Plan['kind'], number>();
const refused = new Map<string, number>();
const flapOutcomes = { applied: 0, refused: 0, gone: 0 };
const inc = <K>(m: Map<K, number>, k: K): void => {
  m.set(k, (m.get(k) ?? 0) + 1);
};
const accepted: Placed[] = [];

async function fuzzOne(p: Placed): Promise<void> {
  const rt = KINDS[p.plan.kind];
  try {
    await client.request('POST', collectionPath(rt, p.namespace), { body: p.body });
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    // 4xx: the schema (or admission) said no. etcd's limit on one object (1.5 MiB) shows as
    // a 500: the API server's answer for a request that passed its schema but not its store.
    const tooLarge = err.status === 500 && /request is too large/.test(err.message);
    inc(
      refused,
      `${p.plan.kind}: ${tooLarge ? 'etcd: request is too large (500)' : err.status < 500 ? refusalReason(err.status, err.reason, err.message) : `server error ${err.status}: ${err.message.slice(0, 120)}`}`,
    );
    return;
  }
  inc(created, p.plan.kind);
  accepted.push(p);
  const key = `${p.plan.kind}/${p.namespace}/${p.name}`;
  if (p.plan.deleteAt && p.plan.deleteAt !== 'Created') deleteWhen.set(key, { kind: p.plan.kind, phase: p.plan.deleteAt });
  const path = objectPath(rt, p.namespace, p.name);
  // Rapid flapping: the patches go one right after the other, without waiting for the operator.
  for (const flap of p.plan.flaps) {
    try {
      await client.request('PATCH', path, { body: { spec: flap }, contentType: 'application/merge-patch+json' });
      flapOutcomes.applied++;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 404) flapOutcomes.gone++;
      else flapOutcomes.refused++;
    }
  }
  if (p.plan.deleteAt === 'Created') {
    deleted.add(key);
    await client.request('DELETE', path).catch(() => undefined);
  }
}

let next = 0;
let done = 0;
const progress = setInterval(() => {
  say(`${done}/${placed.length} sent; operator ${operator.alive ? 'alive' : 'EXITED'}`);
}, 15_000);
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < placed.length; i = next++) {
      const p = placed[i];
      if (p) await fuzzOne(p);
      done++;
    }
  }),
);
clearInterval(progress);
const fuzzSeconds = (performance.now() - t0) / 1000;
say(`all ${placed.length} sent; settling (up to ${settleMs / 1000} s)`);

// --- settle ---------------------------------------------------------------------------
const list = (kind: Plan['kind']): KubeObject[] => (caches.get(kind) ?? []).flatMap((i) => i.list());
const world = (namespace: string): { agents: Set<string>; tasks: Set<string> } => ({
  agents: new Set(
    list('Agent')
      .filter((a) => a.metadata.namespace === namespace)
      .map((a) => a.metadata.name ?? ''),
  ),
  tasks: new Set(
    list('Task')
      .filter((t) => t.metadata.namespace === namespace)
      .map((t) => t.metadata.name ?? ''),
  ),
});
function findings(): { kind: string; key: string; why: string }[] {
  const now = Date.now();
  const worlds = new Map(namespaces.map((ns) => [ns, world(ns)]));
  const all: { kind: string; key: string; why: string }[] = [];
  for (const t of list('Task')) {
    const why = taskFinding(t, worlds.get(t.metadata.namespace ?? '') ?? { agents: new Set(), tasks: new Set() });
    if (why) all.push({ kind: 'Task', key: keyOf(t), why });
  }
  for (const a of list('Agent')) {
    const why = agentFinding(a, now, STUCK_AFTER_MS);
    if (why) all.push({ kind: 'Agent', key: keyOf(a), why });
  }
  for (const p of list('OrchestratorPolicy')) {
    const why = policyFinding(p);
    if (why) all.push({ kind: 'OrchestratorPolicy', key: keyOf(p), why });
  }
  return all;
}
// At least 20 s (a waiting task's reason is rewritten at most every 10 s), then until
// every object is reported or the deadline.
const settleStart = Date.now();
for (;;) {
  await sleep(5000);
  const open = findings();
  const elapsed = Date.now() - settleStart;
  // Settled: every object reported and nothing moved on for 15 s (retries and timeouts the
  // specs ask for have run their course), or the deadline.
  const still = Date.now() - lastProgressAt >= 15_000;
  if ((elapsed >= 20_000 && open.length === 0 && still) || elapsed >= settleMs || !operator.alive) break;
  say(
    `${open.length} objects not reported yet (e.g. ${open[0]?.kind ?? ''} ${open[0]?.key ?? ''}: ${open[0]?.why ?? ''}); last progress ${Math.round((Date.now() - lastProgressAt) / 1000)} s ago`,
  );
}

// --- quiet window ---------------------------------------------------------------------
// Settled at the deadline with objects still moving on: the window measures their work
// (retries, timeouts, workflows the specs ask for), not an idle operator.
const stillMoving = Date.now() - lastProgressAt < 15_000;
deleting = false;
const reconcilesBefore = operator.alive
  ? samplesBy(await operator.scrape(), 'controller_runtime_reconcile_total', 'controller')
  : new Map();
const cpuBefore = operator.alive ? operator.cpuSeconds() : 0;
changes.clear();
idleWrites.clear();
counting = true;
const quietStart = performance.now();
await sleep(quietMs);
counting = false;
const quietSeconds = (performance.now() - quietStart) / 1000;
const cpuShare = operator.alive ? (operator.cpuSeconds() - cpuBefore) / quietSeconds : Number.NaN;
const metricsText = operator.alive ? await operator.scrape() : '';
const reconcilesAfter = samplesBy(metricsText, 'controller_runtime_reconcile_total', 'controller');
const requestsByCode = samplesBy(metricsText, 'rest_client_requests_total', 'code');
const ready = await operator.ready();

// --- checks ---------------------------------------------------------------------------
const final = findings();
const objects = list('Agent').length + list('Task').length + list('OrchestratorPolicy').length;
const busiest = [...changes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, n) => a + n, 0);
const moves = sum(changes) - sum(idleWrites);
const movedObjects = [...changes.entries()].filter(([k, n]) => n > (idleWrites.get(k) ?? 0)).length;
const idlest = [...idleWrites.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
const statusRefusals = operator.refusals.filter((r) => r.target === 'status');
const eventRefusals = operator.refusals.filter((r) => r.target === 'event');
// A Pod the API server refuses for its spec is reported on the Agent (InvalidSpec); anything else refused is a bug.
const otherRefusals = operator.refusals.filter((r) => r.target === 'other');
const reconcileRates = [...reconcilesAfter.entries()].map(
  ([c, n]) => `${c} ${((n - (reconcilesBefore.get(c) ?? 0)) / quietSeconds).toFixed(1)}/s`,
);

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}
const checks: Check[] = [
  {
    name: 'operator never exited or restarted',
    ok: operator.alive && operator.pid === pid && ready,
    detail: `pid ${pid} ${operator.alive ? 'alive' : `exited ${JSON.stringify(operator.exit)}`}, /readyz ${ready ? '200' : 'not ok'}`,
  },
  {
    name: 'no status write refused (422)',
    ok: statusRefusals.length === 0,
    detail: `${statusRefusals.length} refused status writes (rest_client 422s in all, Pods refused for their spec included: ${requestsByCode.get('422') ?? 0})`,
  },
  {
    name: 'no Event or other write refused (422)',
    ok: eventRefusals.length === 0 && otherRefusals.length === 0,
    detail: `${eventRefusals.length} Events, ${otherRefusals.length} other writes`,
  },
  {
    name: `CPU over the quiet window below ${cpuBound * 100}% of a core`,
    ok: cpuShare < cpuBound,
    detail:
      `${(cpuShare * 100).toFixed(1)}% over ${quietSeconds.toFixed(0)} s; reconciles ${reconcileRates.join(', ')}; ` +
      `${moves} writes moved ${movedObjects} objects on${stillMoving ? ' (still moving when the settle deadline ended it)' : ''}`,
  },
  {
    name: `no object rewritten more than ${writesBound} times without moving on`,
    ok: (idlest[0]?.[1] ?? 0) <= writesBound,
    detail: `most rewritten: ${idlest.length ? idlest.map(([k, n]) => `${k} ${n}`).join('; ') : 'none'}; most written: ${busiest.map(([k, n]) => `${k} ${n}`).join('; ') || 'none'}`,
  },
  {
    name: 'every object reported (phase, or a condition naming why)',
    ok: final.length === 0,
    detail: final.length
      ? `${final.length} not: ${final
          .slice(0, 3)
          .map((f) => `${f.kind} ${f.key}: ${f.why}`)
          .join(' | ')}`
      : `${objects} objects checked`,
  },
];

// --- report ---------------------------------------------------------------------------
const phases = (kind: Plan['kind']): string =>
  countBy(
    list(kind).map((o) => (o.status as { phase?: string } | undefined)?.phase ?? (kind === 'OrchestratorPolicy' ? readyReason(o) : 'none')),
  );
console.log(`\nseed ${seed}, ${placed.length} objects in ${namespaces.length} namespaces, sent in ${fuzzSeconds.toFixed(0)} s`);
console.log(`\n${'kind'.padEnd(20)} ${'planned'.padStart(8)} ${'created'.padStart(8)} ${'refused'.padStart(8)}  at the end`);
for (const kind of Object.keys(KINDS) as Plan['kind'][]) {
  const plannedN = placed.filter((p) => p.plan.kind === kind).length;
  const refusedN = [...refused.entries()].filter(([k]) => k.startsWith(`${kind}:`)).reduce((a, [, n]) => a + n, 0);
  console.log(
    `${kind.padEnd(20)} ${String(plannedN).padStart(8)} ${String(created.get(kind) ?? 0).padStart(8)} ${String(refusedN).padStart(8)}  ${phases(kind)}`,
  );
}
console.log(`\nrefused-by-schema, by reason:`);
for (const [reason, n] of [...refused.entries()].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(6)}  ${reason}`);
console.log(
  `\nflapping patches: ${flapOutcomes.applied} applied, ${flapOutcomes.refused} refused, ${flapOutcomes.gone} on deleted objects; ` +
    `deleted mid-phase: ${deleted.size}; simulated runners started: ${runners.started}; task executions: ${[...runners.executions.values()].reduce((a, v) => a + v.length, 0)}`,
);
console.log(
  `operator error lines: ${operator.errorCount}; API requests by code: ${[...requestsByCode.entries()].map(([c, n]) => `${c}=${n}`).join(' ')}`,
);
console.log(`\n${'check'.padEnd(64)} result  detail`);
for (const c of checks) console.log(`${c.name.padEnd(64)} ${c.ok ? 'ok    ' : 'FAILED'}  ${c.detail}`);
if (operator.refusals.length) {
  console.log('\nfirst refused writes:');
  for (const r of operator.refusals.slice(0, 5)) console.log(`  [${r.target}] ${r.line.slice(0, 600)}`);
}
if (final.length) {
  console.log('\nobjects not reported:');
  for (const f of final.slice(0, 20)) console.log(`  ${f.kind} ${f.key}: ${f.why}`);
}
if (idlest.some(([, n]) => n > writesBound) || busiest.some(([, n]) => n > 5 * writesBound)) {
  // Who keeps writing them: the field managers and times, and where each stands.
  console.log('\nobjects written most in the quiet window:');
  for (const [key, n] of [...idlest, ...busiest].filter(([, c]) => c > writesBound).slice(0, 4)) {
    const [kind = '', namespace = '', ...rest] = key.split('/');
    const obj = await client
      .request<KubeObject>('GET', objectPath(KINDS[kind as Plan['kind']], namespace, rest.join('/')))
      .catch(() => undefined);
    const fields = (obj?.metadata.managedFields ?? []) as { manager?: string; operation?: string; subresource?: string; time?: string }[];
    const managers = fields.map((f) => `${f.manager ?? '?'} ${f.operation ?? ''} ${f.subresource ?? ''} ${f.time ?? ''}`);
    const status = obj?.status as { phase?: string; assignment?: unknown; history?: unknown[]; conditions?: unknown[] } | undefined;
    console.log(`  ${key}: ${n} writes; phase ${status?.phase ?? 'none'}; spec ${JSON.stringify(obj?.spec).slice(0, 300)}`);
    console.log(`    assignment ${JSON.stringify(status?.assignment)}; last history ${JSON.stringify(status?.history?.slice(-2))}`);
    console.log(`    conditions ${JSON.stringify(status?.conditions).slice(0, 600)}`);
    console.log(`    managers: ${managers.join(' | ')}`);
  }
}
const failed = checks.some((c) => !c.ok);
console.log(`\n${failed ? 'FAILED' : 'passed'}; operator log ${path.join(out, 'operator.log')}; replay: ${replay}`);

// --- clean up -------------------------------------------------------------------------
// The operator first, then the runners with a deadline: the run holds the shared plane's
// lock until this process is gone, so nothing here may wait for ever.
await operator.stop();
await Promise.race([runners.stop(), sleep(15_000)]);
stop.abort();
if (!values.keep) await Promise.race([removeNamespaces(), sleep(60_000)]);
await Promise.race([client.close(), sleep(5_000)]);
process.exit(failed ? 1 : 0);

// --- helpers --------------------------------------------------------------------------
/**
 * The namespaces go, and with them the Agents: their finalizer is the operator's, which
 * has stopped, so it is taken off here; left on, every run would leave its namespaces
 * Terminating on the shared plane for the next suite's operator to find.
 */
async function removeNamespaces(): Promise<void> {
  for (const ns of namespaces) {
    await client.request('DELETE', `/api/v1/namespaces/${ns}`).catch(() => undefined);
    const agents = await client.request<{ items: KubeObject[] }>('GET', collectionPath(KINDS.Agent, ns)).catch(() => ({ items: [] }));
    for (const agent of agents.items)
      await client
        .request('PATCH', objectPath(KINDS.Agent, ns, agent.metadata.name ?? ''), {
          body: { metadata: { finalizers: null } },
          contentType: 'application/merge-patch+json',
        })
        .catch(() => undefined);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function exists(c: RestClient, p: string): Promise<boolean> {
  try {
    await c.request('GET', p);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

function countBy(items: readonly string[]): string {
  const m = new Map<string, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

function readyReason(o: KubeObject): string {
  const ready = (o.status as { conditions?: { type: string; reason?: string }[] } | undefined)?.conditions?.find((c) => c.type === 'Ready');
  return ready?.reason ?? 'none';
}

/** What moving on means for an object: its phase, attempts, history, spec generation, workload restarts. */
function progressOf(o: KubeObject): string {
  const st = o.status as { phase?: string; attempts?: number; history?: unknown[]; workload?: { restarts?: number } } | undefined;
  return [st?.phase, st?.attempts, st?.history?.length, o.metadata.generation, st?.workload?.restarts, o.metadata.deletionTimestamp].join(
    '|',
  );
}
