// make chaos: a seeded fault-injection run on the local plane. A workload of Tasks runs on
// kwok agents (simulated runners in this process: the real heartbeat and task runner),
// kwok agents whose runner is a real process (frozen, cut off), and docker agents (the
// real runner image), under two operator replicas, while faults hit on a schedule drawn
// from the seed. At the end, invariant checkers read every Task, the journal the workers
// wrote and the workloads left; the run fails on any violation and prints how to replay it.
//
//   node chaos/run.ts --seed N --duration S [--tasks N] [--bounded]
//   (run it under `flock -o /tmp/ao-integration.lock`: it restarts the shared plane's parts)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { API_VERSION, AGENT_LABEL } from '../operator/src/api/names.ts';
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import { isNotFound, ApiError, isConflict } from '../operator/src/runtime/errors.ts';
import type { RestClient } from '../operator/src/runtime/rest/client.ts';
import type { KubeObject, ObjectList } from '../operator/src/runtime/rest/object.ts';
import { Pods, collectionPath, objectPath, resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { NAMESPACE_LABEL, NAME_LABEL } from '../operator/src/runtimes/docker/labels.ts';
import { agentClient } from '../test/support/identities.ts';
import { demuxLogs, dockerFromHost } from '../test/support/docker.ts';
import { PodFleet } from '../test/support/pod-fleet.ts';
import { pool, sleep } from '../bench/load.ts';
import { createNamespace, deleteNamespace } from '../bench/namespaces.ts';
import { controlPlane } from '../bench/support.ts';
import { inject, hackScript, type FaultContext, type InjectedFault } from './faults.ts';
import {
  everyFaultRecovered,
  exactlyOneTerminal,
  finalPhase,
  noFencedOutResult,
  noOrphanWorkloads,
  noOverlappingAttempts,
  recoveryTable,
  staleExecutions,
  type FinalTask,
  type Verdict,
  type Workload,
} from './invariants.ts';
import { Journal, journaling, parseRunnerLog, type LogLine } from './journal.ts';
import { Observer } from './observe.ts';
import { Operators } from './operators.ts';
import { ProcessAgents, WORK_COMMAND } from './process-agents.ts';
import { planFaults, prng } from './schedule.ts';
import { printTables } from './report.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '' },
    duration: { type: 'string', default: '600' },
    tasks: { type: 'string', default: '' },
    bounded: { type: 'boolean', default: false },
    'sim-agents': { type: 'string', default: '12' },
    'process-agents': { type: 'string', default: '2' },
    'docker-agents': { type: 'string', default: '3' },
  },
});

const number = (flag: string, value: string, min: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${flag}: ${JSON.stringify(value)} must be a whole number >= ${min}`);
  return n;
};
const SEED = values.seed === '' || values.seed === 'random' ? Math.floor(Math.random() * 1_000_000) : number('seed', values.seed, 0);
const DURATION_S = number('duration', values.duration, 60);
const TASKS = values.tasks === '' ? Math.max(1000, Math.round(DURATION_S * 5)) : number('tasks', values.tasks, 1);
const HEARTBEAT = { intervalSeconds: 2, timeoutSeconds: 10 };
const QUIET_S = Math.min(30, Math.round(DURATION_S / 10));
/** Tasks left to finish after the load ends (every fault has recovered by then). */
const DRAIN_MS = 600_000;
const RUNNER_IMAGE = 'agent-orchestrator/runner:dev';
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const replay = `node chaos/run.ts --seed ${SEED} --duration ${DURATION_S} --tasks ${TASKS}${values.bounded ? ' --bounded' : ''}`;
const log = (line: string): void => {
  process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};

const plan = planFaults({
  seed: SEED,
  durationS: DURATION_S,
  bounded: values.bounded,
  heartbeatTimeoutS: HEARTBEAT.timeoutSeconds,
  quietS: QUIET_S,
});
const poolSize = (flag: string, value: string | undefined): number => number(flag, value ?? '', 1);
const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const pools = {
  simulated: names('sim', poolSize('sim-agents', values['sim-agents'])),
  process: names('proc', poolSize('process-agents', values['process-agents'])),
  docker: names('dock', poolSize('docker-agents', values['docker-agents'])),
};

process.stdout.write(
  `chaos: seed ${SEED}, ${DURATION_S} s of load, ${TASKS} tasks, ${pools.simulated.length} simulated + ${pools.process.length} process + ${pools.docker.length} docker agents\n`,
);
process.stdout.write(`replay: ${replay}\n`);
process.stdout.write('schedule (seconds after the load starts; a fault waits for the previous one to recover):\n');
for (const f of plan)
  process.stdout.write(`  +${f.atS.toFixed(1).padStart(6)} s  ${f.kind}${f.outageS ? ` (${f.outageS} s)` : ''}  target #${f.target}\n`);

const resultsDir = path.resolve(import.meta.dirname, '../bench/results/chaos');
const runId = `seed-${SEED}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
const logDir = path.join(resultsDir, runId);
mkdirSync(logDir, { recursive: true });

const agentSpec = (name: string): Record<string, unknown> => {
  const docker = pools.docker.includes(name);
  return {
    apiVersion: API_VERSION,
    kind: 'Agent',
    metadata: { name },
    spec: {
      capabilities: ['work'],
      maxConcurrentTasks: 2,
      heartbeat: HEARTBEAT,
      runtime: docker
        ? {
            type: 'docker',
            image: RUNNER_IMAGE,
            env: [
              { name: 'RUNNER_COMMAND', value: WORK_COMMAND },
              { name: 'RUNNER_PROGRESS_SECONDS', value: '0' },
            ],
          }
        : { type: 'kubernetes', image: RUNNER_IMAGE },
    },
  };
};

/** Retries a write through an outage of the plane (a restart of kube-apiserver or etcd). */
async function persist<T>(what: string, write: () => Promise<T>, timeoutMs = 300_000): Promise<T | undefined> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'AlreadyExists') return undefined;
      if (err instanceof ApiError && err.status < 500 && err.status !== 429 && !isConflict(err)) throw err;
      if (performance.now() > deadline) throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      await sleep(500);
    }
  }
}

async function main(): Promise<number> {
  const { kubeconfig, client: admin } = controlPlane();
  const dockerHost = await hackScript('docker.sh', 'start');
  // images.sh finds the engine through DOCKER_HOST.
  process.env.DOCKER_HOST = dockerHost;
  log(`docker engine ${dockerHost}; building the runner image if its sources changed`);
  await hackScript('images.sh', 'node-base', 'runner');
  const docker = dockerFromHost(dockerHost);
  const apiServerPort = Number(new URL(admin.access.server).port);
  const namespace = `chaos-${SEED}-${Date.now().toString(36)}`;
  await createNamespace(admin, namespace);
  log(`namespace ${namespace}; logs in ${path.relative(process.cwd(), logDir)}`);

  const journal = new Journal(path.join(logDir, 'journal.jsonl'));
  const observer = new Observer(admin, namespace);
  const operators = new Operators({
    kubeconfig,
    namespace,
    dockerHost,
    logDir,
    lease: { duration: 6, renewDeadline: 4, retryPeriod: 1 },
  });
  const work = prng(SEED ^ 0x5eed);
  const simulated = new Set(pools.simulated);
  const fleet = new PodFleet(
    admin,
    namespace,
    async (task, _agent, signal) => {
      const e = {
        task: task.name,
        attempt: task.attempt,
        runner: journal.claimant(task.name, task.attempt) ?? '',
        start: Date.now(),
        end: undefined as number | undefined,
      };
      journal.executions.push(e);
      const seconds = Number(task.input ?? '1');
      const finished = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => {
          resolve(true);
        }, seconds * 1000);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve(false);
        });
      });
      e.end = Date.now();
      return finished
        ? { outcome: 'Succeeded', output: `${task.name} attempt ${task.attempt}\n`, reason: 'exit code 0', exitCode: 0 }
        : { outcome: 'Cancelled', output: '', reason: 'stopped' };
    },
    async (agent) => {
      // Process agents' Pods get their runner from ProcessAgents: a 404 tells the fleet there is none to start here.
      if (!simulated.has(agent)) throw new ApiError(404, 'NotFound', 'not a simulated agent', 'GET', agent);
      return journaling(await agentClient(admin, kubeconfig, namespace, agent), journal);
    },
  );
  const processAgents = new ProcessAgents(admin, kubeconfig, namespace, pools.process, apiServerPort);
  const all = [...pools.simulated, ...pools.process, ...pools.docker];
  const faults: InjectedFault[] = [];
  const deleted: string[] = [];
  const created = new Set<string>();
  const stopLoad = new AbortController();
  let loading: Promise<void> = Promise.resolve();
  const schedule = { done: false };
  const collectContainerLogs = async (): Promise<void> => {
    const containers = await docker.listContainers({ all: true, filters: { label: [`${NAMESPACE_LABEL}=${namespace}`] } });
    for (const c of containers) {
      const raw = await docker.getContainer(c.Id).logs({ stdout: true, stderr: true, follow: false });
      const { stdout } = demuxLogs(raw);
      writeFileSync(path.join(logDir, `container-${(c.Names[0] ?? c.Id).replace(/^\//, '')}.log`), stdout);
      const lines = stdout.split('\n').flatMap((l): LogLine[] => {
        try {
          return [JSON.parse(l) as LogLine];
        } catch {
          return [];
        }
      });
      journal.setLogSource(`container:${c.Id}`, parseRunnerLog(lines));
    }
  };
  const logCollector = setInterval(() => {
    void collectContainerLogs().catch(() => undefined);
  }, 10_000);
  // Interrupted: the children go (a frozen runner is woken first), the namespace stays for a look.
  const interrupted = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the operators and runners; namespace ${namespace} is left behind`);
    void Promise.allSettled([operators.stop(), processAgents.stop(), fleet.stop()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let exitCode: number;
  try {
    await observer.start();
    await processAgents.start();
    await operators.start('replica-a');
    await operators.start('replica-b');
    await ensurePodRoom(admin, pools.simulated.length + pools.process.length);
    await pool(all, 8, (name) => admin.request('POST', collectionPath(Agents, namespace), { body: agentSpec(name) }));
    log(`waiting for ${all.length} agents to be Ready`);
    let waiting: string[] = [];
    await until(
      `${all.length} agents serving`,
      async () => {
        const list = await admin.request<ObjectList>('GET', collectionPath(Agents, namespace));
        waiting = list.items
          .filter((a) => !['Ready', 'Busy'].includes((a.status as { phase?: string } | undefined)?.phase ?? ''))
          .map((a) => `${a.metadata.name ?? ''} ${(a.status as { phase?: string } | undefined)?.phase ?? '(no status)'}`);
        return list.items.length === all.length && waiting.length === 0;
      },
      300_000,
      () => `not serving: ${waiting.join(', ')} (kubectl describe their Pods: a full kwok node says "Too many pods")`,
    );

    // The workload: TASKS tasks spread evenly over the load, each 0.2-3 s of work.
    const t0 = performance.now();
    const loadMs = (DURATION_S - QUIET_S) * 1000;
    loading = (async () => {
      const pending: Promise<unknown>[] = [];
      // At least TASKS, and on at the same rate while faults remain: a fault late in the
      // schedule still hits work in flight, and recovery (work assigned again) can be seen.
      for (let i = 0; (i < TASKS || !schedule.done) && !stopLoad.signal.aborted; i++) {
        const wait = t0 + (i * loadMs) / TASKS - performance.now();
        if (wait > 0) await sleep(wait);
        const name = `t-${String(i).padStart(5, '0')}`;
        const seconds = (0.2 + work() * 2.8).toFixed(2);
        pending.push(
          persist(`creating ${name}`, () =>
            admin.request('POST', collectionPath(Tasks, namespace), {
              body: {
                apiVersion: API_VERSION,
                kind: 'Task',
                metadata: { name },
                spec: { requiredCapabilities: ['work'], input: `${seconds}\n`, timeoutSeconds: 600 },
              },
            }),
          ).then(() => created.add(name)),
        );
      }
      await Promise.all(pending);
    })();

    const context: FaultContext = { admin, namespace, docker, operators, observer, processAgents, pools, log };
    for (const f of plan) {
      const wait = t0 + f.atS * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      log(`fault ${f.kind} (target #${f.target}) at +${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const r = await inject(f, context).catch((err: unknown): InjectedFault => ({
        kind: f.kind,
        at: Date.now(),
        recoveredMs: undefined,
        target: `#${f.target}`,
        detail: `could not inject it: ${err instanceof Error ? err.message : String(err)}`,
      }));
      faults.push(r);
      log(
        `  ${r.target}: ${r.detail}; ${r.recoveredMs === undefined ? 'NOT recovered' : `recovered in ${(r.recoveredMs / 1000).toFixed(1)} s`}`,
      );
    }
    schedule.done = true;
    await loading;
    log(`load done: ${created.size} tasks created; waiting for every task to end`);
    await until(
      'every task terminal',
      () => [...created].every((n) => observer.terminal.has(n)),
      DRAIN_MS,
      () =>
        `${[...created].filter((n) => !observer.terminal.has(n)).length} tasks not terminal: ${[...created]
          .filter((n) => !observer.terminal.has(n))
          .slice(0, 10)
          .join(', ')}`,
    ).catch((err: unknown) => {
      log(err instanceof Error ? err.message : String(err));
    });

    // Agents deleted at the end: their Pods and containers must go with them.
    const victims = [pools.simulated[0], pools.docker[0]].filter((a): a is string => a !== undefined);
    await collectContainerLogs();
    for (const v of victims) {
      await admin.request('DELETE', objectPath(Agents, namespace, v));
      deleted.push(v);
    }
    await until(
      'the deleted agents gone',
      async () => {
        for (const v of victims) {
          const gone = await admin.request('GET', objectPath(Agents, namespace, v)).then(
            () => false,
            (err: unknown) => isNotFound(err),
          );
          if (!gone) return false;
        }
        return true;
      },
      120_000,
    ).catch((err: unknown) => {
      log(err instanceof Error ? err.message : String(err));
    });
    const workloads = await leftWorkloads(admin, docker, namespace);
    const agentsLeft = new Set(
      (await admin.request<ObjectList>('GET', collectionPath(Agents, namespace))).items.map((a) => a.metadata.name ?? ''),
    );

    // Everything the invariants read.
    await collectContainerLogs();
    // The runner processes' own logs, for a look after a failure (the containers' stay in the engine until the end).
    for (const [agent, lives] of processAgents.processes)
      lives.forEach((p, i) => {
        writeFileSync(path.join(logDir, `runner-${agent}-${i}.log`), [...p.logs.map((l) => JSON.stringify(l)), ...p.stderr, ''].join('\n'));
      });
    for (const [agent, lives] of processAgents.processes)
      lives.forEach((p, i) => {
        journal.setLogSource(`process:${agent}:${i}`, parseRunnerLog(p.logs));
      });
    const items = (await admin.request<ObjectList>('GET', collectionPath(Tasks, namespace))).items;
    const final = items.map(finalTask);
    const lost = items
      .flatMap((t) => (t.status as { history?: { outcome: string }[] } | undefined)?.history ?? [])
      .filter((h) => h.outcome === 'Lost');
    const writes = journal.allWrites();
    const verdicts: Verdict[] = [
      exactlyOneTerminal(final, observer.phases, writes),
      noOverlappingAttempts(writes),
      noFencedOutResult(final, writes),
      noOrphanWorkloads(workloads, agentsLeft, deleted),
      everyFaultRecovered(faults),
    ];
    const stale = staleExecutions(journal.allExecutions(), writes);
    const table = recoveryTable(faults);
    const violations = verdicts.reduce((n, v) => n + v.violations.length, 0);
    const summary = {
      seed: SEED,
      durationSeconds: DURATION_S,
      tasks: final.length,
      bounded: values.bounded,
      replay,
      namespace,
      pools,
      outcomes: Object.fromEntries(['Succeeded', 'Failed', 'Cancelled'].map((p) => [p, final.filter((t) => t.phase === p).length])),
      journal: {
        writes: writes.length,
        refused: writes.filter((w) => !w.accepted).length,
        executions: journal.allExecutions().length,
        staleExecutions: stale,
        handedBack: lost.length,
      },
      invariants: verdicts.map((v) => ({ invariant: v.invariant, checked: v.checked, violations: v.violations })),
      faults,
      recovery: table,
      schedule: plan,
    };
    writeFileSync(path.join(resultsDir, `${runId}.json`), `${JSON.stringify(summary, null, 2)}\n`);
    printTables(summary, verdicts, table, (l) => process.stdout.write(`${l}\n`));
    process.stdout.write(`result: ${path.relative(process.cwd(), path.join(resultsDir, `${runId}.json`))}\n`);
    process.stdout.write(`seed ${SEED}: ${violations === 0 ? 'PASS' : `FAIL (${violations} violations)`}; replay: ${replay}\n`);
    exitCode = violations === 0 ? 0 : 1;
  } finally {
    clearInterval(logCollector);
    stopLoad.abort();
    await loading.catch(() => undefined);
    await restoreEverything(processAgents);
    // The operator removes the containers of deleted Agents; then the rest goes.
    await admin.request('DELETE', collectionPath(Agents, namespace)).catch(() => undefined);
    await until(
      'the containers gone',
      async () => (await docker.listContainers({ all: true, filters: { label: [`${NAMESPACE_LABEL}=${namespace}`] } })).length === 0,
      120_000,
    ).catch(() => undefined);
    await operators.stop();
    await fleet.stop();
    await processAgents.stop();
    observer.close();
    for (const c of await docker.listContainers({ all: true, filters: { label: [`${NAMESPACE_LABEL}=${namespace}`] } }).catch(() => []))
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    await deleteNamespace(admin, namespace).catch((err: unknown) => {
      log(`could not delete ${namespace}: ${String(err)}`);
    });
    await admin.close();
  }
  return exitCode;
}

/**
 * The shared plane's kwok nodes may be full of other runs' Pods ("Too many pods"): adds
 * nodes until the agents' Pods fit, with room to spare for the ones a fault recreates.
 */
async function ensurePodRoom(admin: RestClient, needed: number): Promise<void> {
  const nodes = (await admin.request<ObjectList>('GET', '/api/v1/nodes', { query: { labelSelector: 'type=kwok' } })).items;
  const pods = (await admin.request<ObjectList>('GET', '/api/v1/pods')).items.filter(
    (p) => !['Succeeded', 'Failed'].includes((p.status as { phase?: string } | undefined)?.phase ?? ''),
  );
  const room =
    nodes.reduce((n, node) => n + Number((node.status as { allocatable?: { pods?: string } } | undefined)?.allocatable?.pods ?? 0), 0) -
    pods.length;
  if (room >= needed * 2) return;
  const count = nodes.length + Math.ceil((needed * 2 - room) / 110);
  log(`room for ${room} more Pods on ${nodes.length} kwok nodes: adding nodes (to ${count})`);
  await hackScript('control-plane.sh', 'start', '--nodes', String(count));
}

/** Whatever a fault left down comes back: the plane and the engine (the plane is shared). */
async function restoreEverything(processAgents: ProcessAgents): Promise<void> {
  await processAgents.stop().catch(() => undefined);
  const planeOk = await hackScript('control-plane.sh', 'status').then(
    () => true,
    () => false,
  );
  if (!planeOk) {
    log('the plane is not healthy: starting it again');
    await hackScript('control-plane.sh', 'start');
  }
  await hackScript('docker.sh', 'start');
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number, describe?: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve(probe()).catch(() => false)) return;
    if (performance.now() > deadline)
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${describe ? `: ${describe()}` : ''}`);
    await sleep(200);
  }
}

function finalTask(t: KubeObject): FinalTask {
  const s = t.status as
    | {
        phase?: string;
        assignment?: { attempt?: number; claimedBy?: string | null };
        result?: { output?: string };
        conditions?: { type: string; status: string }[];
      }
    | undefined;
  const named = /attempt (\d+)/.exec(s?.result?.output ?? '');
  return {
    name: t.metadata.name ?? '',
    phase: finalPhase(s?.phase, s?.conditions),
    attempt: s?.assignment?.attempt,
    claimedBy: s?.assignment?.claimedBy ?? undefined,
    resultAttempt: named ? Number(named[1]) : undefined,
  };
}

async function leftWorkloads(admin: RestClient, docker: ReturnType<typeof dockerFromHost>, namespace: string): Promise<Workload[]> {
  const pods = await admin.request<ObjectList>('GET', collectionPath(Pods, namespace), { query: { labelSelector: AGENT_LABEL } });
  const containers = await docker.listContainers({ all: true, filters: { label: [`${NAMESPACE_LABEL}=${namespace}`] } });
  return [
    ...pods.items.map((p): Workload => ({ kind: 'Pod', name: p.metadata.name ?? '', agent: p.metadata.labels?.[AGENT_LABEL] ?? '' })),
    ...containers.map((c): Workload => ({ kind: 'Container', name: c.Names[0] ?? c.Id, agent: c.Labels[NAME_LABEL] ?? '' })),
  ];
}

const code = await main().catch((err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\nreplay: ${replay}\n`);
  return 1;
});
// Watches a dead plane left behind must not keep the process up.
process.exit(code);
