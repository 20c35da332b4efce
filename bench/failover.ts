// Benchmark: leader failover under load. Two replicas of the compiled operator with
// leader election; agents on kwok with simulated runners (test/support/pod-fleet.ts)
// take a steady stream of tasks; the leader is SIGKILLed (a crash: its Lease is not
// released), and the standby takes over once the Lease expires. Reports, per kill:
// kill -> Lease taken by the standby, kill -> first assignment by the new leader, and
// how long the tasks created in that gap waited. The killed replica comes back as the
// new standby before the next kill.
//
//   make bench SCENARIO=failover
//   node bench/failover.ts [--kills 3] [--rate 10] [--agents 20] [--lease-duration 15 --renew-deadline 10 --retry-period 2]
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { Leases, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { PodFleet } from '../test/support/pod-fleet.ts';
import { firstSeen, offerTasks, readyAgents, sleep, until } from './load.ts';
import { createNamespace, deleteNamespace } from './namespaces.ts';
import { OperatorChild } from './operator-child.ts';
import { Recorder } from './results.ts';
import { RssSampler } from './rss.ts';
import { ratePerSecond, summarize } from './stats.ts';
import { controlPlane, knob } from './support.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: knob('BENCH_FAILOVER_KILLS', '3') },
    rate: { type: 'string', default: knob('BENCH_FAILOVER_RATE', '10') },
    agents: { type: 'string', default: '20' },
    'work-ms': { type: 'string', default: '500' },
    'lease-duration': { type: 'string', default: '15' },
    'renew-deadline': { type: 'string', default: '10' },
    'retry-period': { type: 'string', default: '2' },
  },
});
const KILLS = Number(values.kills);
const RATE = Number(values.rate);
const AGENTS = Number(values.agents);
const LEASE = 'agent-orchestrator';
/** Load before the first kill and after each recovery: a leader in its stride. */
const STEADY_MS = 10_000;
/** Tasks created this close to a kill may wait for the next leader: they count in the gap, not in the steady state. */
const BEFORE_KILL_MS = 5_000;
/** The backlog is gone when no task older than this waits. */
const BACKLOG_MS = 2_000;
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const silent = pino({ level: 'silent' });
const phaseOf = (o: KubeObject): string | undefined => (o.status as { phase?: string } | undefined)?.phase;

interface Kill {
  takeoverMs: number;
  resumeMs: number;
  /** Kill -> the backlog gone again (no task older than BACKLOG_MS unassigned). */
  recoveredMs: number;
  /** Created -> Assigned of the tasks created between the kill and the first new assignment. */
  gapLatencyMs: number[];
}

const recorder = new Recorder('failover', 'Leader failover under load', {
  kills: KILLS,
  rate: RATE,
  agents: AGENTS,
  leaseDurationSeconds: values['lease-duration'],
  renewDeadlineSeconds: values['renew-deadline'],
  retryPeriodSeconds: values['retry-period'],
});

await recorder.run(async (r) => {
  const { kubeconfig, client } = controlPlane({ compiledOperator: true });
  const namespace = `bench-failover-${Date.now().toString(36)}`;
  await createNamespace(client, namespace);
  const stop = new AbortController();
  const rss = new RssSampler();
  const fleet = new PodFleet(client, namespace, async (task) => {
    await sleep(Number(values['work-ms']));
    return { outcome: 'Succeeded', output: `done ${task.name}`, reason: 'exit code 0', exitCode: 0 };
  });
  const replicas = new Map<string, OperatorChild>();
  const startReplica = async (identity: string): Promise<void> => {
    const child = await OperatorChild.start(kubeconfig, namespace, {
      AO_LEADER_ELECT: 'true',
      AO_LEADER_ELECTION_NAMESPACE: namespace,
      AO_IDENTITY: identity,
      AO_LEADER_ELECT_LEASE_DURATION: values['lease-duration'],
      AO_LEADER_ELECT_RENEW_DEADLINE: values['renew-deadline'],
      AO_LEADER_ELECT_RETRY_PERIOD: values['retry-period'],
    });
    replicas.set(identity, child);
    rss.watch(identity, child.pid);
    await child.waitReady();
  };
  const offering = new AbortController();
  let load: Promise<void> = Promise.resolve();
  try {
    const leases = new Informer<KubeObject>({ client, resource: Leases, namespace, logger: silent });
    const tasks = new Informer<KubeObject>({ client, resource: Tasks, namespace, logger: silent });
    const agents = new Informer<KubeObject>({ client, resource: Agents, namespace, logger: silent });
    const assigned = firstSeen(tasks, (t) => ['Assigned', 'Running', 'Succeeded'].includes(phaseOf(t) ?? ''));
    const holders: { holder: string; at: number }[] = [];
    const seeLease = (l: KubeObject): void => {
      if (l.metadata.name !== LEASE) return;
      const holder = (l.spec as { holderIdentity?: string } | undefined)?.holderIdentity ?? '';
      if (holders.at(-1)?.holder !== holder) holders.push({ holder, at: performance.now() });
    };
    leases.addHandler({
      onAdd: seeLease,
      onUpdate: (_o, l) => {
        seeLease(l);
      },
    });
    for (const i of [leases, tasks, agents]) void i.run(stop.signal);
    await Promise.all([leases.waitForSync(), tasks.waitForSync(), agents.waitForSync()]);

    await startReplica('replica-a');
    await startReplica('replica-b');
    await until('a leader', () => (holders.at(-1)?.holder ?? '') !== '', 60_000);
    await readyAgents(client, namespace, agents, AGENTS);

    // An open-loop stream of tasks for the whole run.
    const created = new Map<string, number>();
    const t0 = performance.now();
    load = offerTasks(client, namespace, RATE, () => !offering.signal.aborted, created);
    const waiting: [number, number][] = [];
    const sampler = setInterval(() => {
      let n = 0;
      for (const name of created.keys()) if (!assigned.has(name)) n++;
      waiting.push([Math.round((performance.now() - t0) / 100) / 10, n]);
    }, 250);

    const kills: Kill[] = [];
    const killTimes: number[] = [];
    // Windows of steady load: from a moment without backlog (after the start, or after a
    // kill's backlog has been worked off) to a little before the next kill or the end.
    const drained = (): boolean => {
      const now = performance.now();
      for (const [n, t] of created) if (!assigned.has(n) && now - t > BACKLOG_MS) return false;
      return true;
    };
    await until('the first tasks assigned', drained, 120_000);
    const steadyFrom = [performance.now()];
    for (let k = 0; k < KILLS; k++) {
      await sleep(STEADY_MS);
      const leader = holders.at(-1)?.holder ?? '';
      const victim = replicas.get(leader);
      if (!victim) throw new Error(`the Lease names ${leader}, which is not one of the replicas`);
      process.stderr.write(`kill ${k + 1}/${KILLS}: SIGKILL ${leader}...\n`);
      const killedAt = performance.now();
      killTimes.push(killedAt);
      await victim.stop('SIGKILL');
      await until('the standby to take the Lease', () => (holders.at(-1)?.holder ?? leader) !== leader, 120_000);
      const takeover = holders.at(-1)?.at ?? NaN;
      const firstAfter = (): number => Math.min(...[...assigned.values()].filter((t) => t > takeover));
      await until('an assignment by the new leader', () => Number.isFinite(firstAfter()), 120_000);
      const resumed = firstAfter();
      const gap = [...created].filter(([, t]) => t >= killedAt && t <= resumed).map(([n]) => n);
      await until('the backlog worked off', () => gap.every((n) => assigned.has(n)) && drained(), 300_000);
      const recovered = performance.now();
      steadyFrom.push(recovered);
      kills.push({
        takeoverMs: takeover - killedAt,
        resumeMs: resumed - killedAt,
        recoveredMs: recovered - killedAt,
        gapLatencyMs: gap.map((n) => (assigned.get(n) ?? NaN) - (created.get(n) ?? NaN)),
      });
      await startReplica(leader);
    }
    await sleep(STEADY_MS);
    offering.abort();
    await load;
    const end = performance.now();
    await until('every task assigned', () => [...created.keys()].every((n) => assigned.has(n)), 120_000);
    clearInterval(sampler);

    const windows = steadyFrom.map((from, k) => [from, (killTimes[k] ?? end + BEFORE_KILL_MS) - BEFORE_KILL_MS] as const);
    const steadyLatency = [...created]
      .filter(([, t]) => windows.some(([from, to]) => t >= from && t < to))
      .map(([n, t]) => (assigned.get(n) ?? NaN) - t);
    const takeover = summarize(kills.map((k) => k.takeoverMs));
    const resume = summarize(kills.map((k) => k.resumeMs));
    const gapLatency = summarize(kills.flatMap((k) => k.gapLatencyMs));
    r.line(
      `leader failover, 2 replicas, Lease ${values['lease-duration']} s / renew ${values['renew-deadline']} s / retry ${values['retry-period']} s, ${RATE} tasks/s on ${AGENTS} agents, node ${process.version}`,
    );
    r.line(
      `  steady state (no backlog, not within ${BEFORE_KILL_MS / 1000} s before a kill): Task created -> Assigned p50 ${summarize(steadyLatency).p50.toFixed(0)} ms  p99 ${summarize(steadyLatency).p99.toFixed(0)} ms`,
    );
    kills.forEach((k, i) => {
      r.line(
        `  kill ${i + 1}: Lease taken after ${(k.takeoverMs / 1000).toFixed(1)} s, assignments resumed after ${(k.resumeMs / 1000).toFixed(1)} s, backlog worked off after ${(k.recoveredMs / 1000).toFixed(1)} s; ${k.gapLatencyMs.length} tasks created in the gap`,
      );
    });
    r.line(
      `  kill -> assignments resume: p50 ${(resume.p50 / 1000).toFixed(1)} s  max ${(resume.max / 1000).toFixed(1)} s; tasks created in the gap waited p50 ${(gapLatency.p50 / 1000).toFixed(1)} s  p99 ${(gapLatency.p99 / 1000).toFixed(1)} s`,
    );
    r.line(
      `  ratio kill -> resume / Lease duration: p50 ${(resume.p50 / 1000 / Number(values['lease-duration'])).toFixed(2)}x  max ${(resume.max / 1000 / Number(values['lease-duration'])).toFixed(2)}x (a standby may take a Lease only after a whole duration without renewal)`,
    );
    r.figure('steady_p99_ms', summarize(steadyLatency).p99, 'ms', 'Task created -> Assigned p99 in the steady state, away from the kills');
    r.figure('takeover_p50_s', takeover.p50 / 1000, 's', 'leader SIGKILLed -> Lease taken by the standby, p50');
    r.figure('resume_p50_s', resume.p50 / 1000, 's', 'leader SIGKILLed -> first assignment by the new leader, p50');
    r.figure('resume_max_s', resume.max / 1000, 's', 'leader SIGKILLed -> first assignment by the new leader, slowest kill');
    r.figure(
      'recovered_max_s',
      Math.max(...kills.map((k) => k.recoveredMs)) / 1000,
      's',
      'leader SIGKILLed -> backlog worked off (no task older than 2 s waiting), slowest kill',
    );
    r.figure(
      'gap_wait_p99_s',
      gapLatency.p99 / 1000,
      's',
      'created -> Assigned p99 of the tasks created between a kill and the first new assignment',
    );
    const kills0 = killTimes.map((t) => (t - t0) / 1000);
    r.chart('throughput', {
      title: `assignments per second and tasks waiting; leader killed at ${kills0.map((t) => `${t.toFixed(0)} s`).join(', ')}`,
      x: { label: 'seconds since the load started' },
      y: { label: 'assigned per second' },
      y2: { label: 'tasks created, not yet assigned' },
      series: [
        {
          name: 'assigned per second',
          points: ratePerSecond(
            [...assigned.values()].filter((t) => t >= t0),
            t0,
          ),
        },
        { name: 'waiting', points: waiting, axis: 'right', dashed: true },
      ],
    });
    r.chart('rss', {
      title: 'resident memory of the two replicas',
      x: { label: 'seconds since the scenario started' },
      y: { label: 'MB' },
      series: rss.series(),
    });
  } finally {
    offering.abort();
    await load;
    stop.abort();
    rss.stop();
    await Promise.all([...replicas.values()].map((c) => c.stop()));
    await fleet.stop();
    await deleteNamespace(client, namespace);
    await client.close();
  }
});
