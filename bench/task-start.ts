// Benchmark: how long a task takes to start on a runner that acts as its agent's own
// identity. The compiled operator; agents on kwok whose simulated runners
// (test/support/pod-fleet.ts) use their Pods' ServiceAccount tokens, as real runners do;
// a steady stream of short tasks. Reports Task created -> Assigned (the router) and
// Assigned -> Running (the runner learning of the task: since ADR 0016 through the
// agent's Role, which the operator writes after the assignment, and RBAC's cache).
//
//   node bench/task-start.ts [--agents 20] [--rate 20] [--seconds 30] [--work-ms 200]
//
// Before/after a change: run it from the other build's checkout too (see bench/README.md).
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { agentKind, taskKind } from '../operator/src/api/kinds.ts';
import { Informer } from '../operator/src/runtime/cache/informer.ts';
import type { KubeObject } from '../operator/src/runtime/rest/object.ts';
import { resourceOfKind } from '../operator/src/runtime/rest/resource.ts';
import { agentClient } from '../test/support/identities.ts';
import { PodFleet } from '../test/support/pod-fleet.ts';
import { firstSeen, offerTasks, readyAgents, sleep, until } from './load.ts';
import { createNamespace, deleteNamespace } from './namespaces.ts';
import { OperatorChild } from './operator-child.ts';
import { Recorder } from './results.ts';
import { summarize } from './stats.ts';
import { controlPlane, knob } from './support.ts';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: knob('BENCH_TASK_START_AGENTS', '20') },
    rate: { type: 'string', default: knob('BENCH_TASK_START_RATE', '20') },
    seconds: { type: 'string', default: knob('BENCH_TASK_START_SECONDS', '30') },
    'work-ms': { type: 'string', default: '200' },
  },
});
const AGENTS = Number(values.agents);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const WORK_MS = Number(values['work-ms']);
const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);
const silent = pino({ level: 'silent' });
const phaseOf = (o: KubeObject): string | undefined => (o.status as { phase?: string } | undefined)?.phase;

const recorder = new Recorder('task-start', 'Task created -> Running on runners under their agents’ own identities', {
  agents: AGENTS,
  rate: RATE,
  seconds: SECONDS,
  workMs: WORK_MS,
});

await recorder.run(async (r) => {
  const { kubeconfig, client } = controlPlane({ compiledOperator: true });
  const namespace = `bench-task-start-${Date.now().toString(36)}`;
  await createNamespace(client, namespace);
  const stop = new AbortController();
  const operator = await OperatorChild.start(kubeconfig, namespace);
  const fleet = new PodFleet(
    client,
    namespace,
    async (task) => {
      await sleep(WORK_MS);
      return { outcome: 'Succeeded', output: task.name, reason: 'exit code 0', exitCode: 0 };
    },
    (agent) => agentClient(client, kubeconfig, namespace, agent),
  );
  try {
    await operator.waitReady();
    const tasks = new Informer<KubeObject>({ client, resource: Tasks, namespace, logger: silent });
    const agents = new Informer<KubeObject>({ client, resource: Agents, namespace, logger: silent });
    const assigned = firstSeen(tasks, (t) => ['Assigned', 'Running', 'Succeeded'].includes(phaseOf(t) ?? ''));
    const running = firstSeen(tasks, (t) => ['Running', 'Succeeded'].includes(phaseOf(t) ?? ''));
    for (const i of [tasks, agents]) void i.run(stop.signal);
    await Promise.all([tasks.waitForSync(), agents.waitForSync()]);
    await readyAgents(client, namespace, agents, AGENTS);

    const created = new Map<string, number>();
    await offerTasks(client, namespace, RATE, (i) => i < RATE * SECONDS, created);
    await until('every task Running', () => [...created.keys()].every((n) => running.has(n)), 300_000);

    const toAssigned: number[] = [];
    const toRunning: number[] = [];
    const assignedToRunning: number[] = [];
    for (const [name, at] of created) {
      const a = assigned.get(name) ?? Number.NaN;
      const run = running.get(name) ?? Number.NaN;
      toAssigned.push(a - at);
      toRunning.push(run - at);
      assignedToRunning.push(run - a);
    }
    const row = (what: string, samples: number[]): void => {
      const s = summarize(samples);
      r.line(
        `  ${what.padEnd(28)} p50 ${s.p50.toFixed(0).padStart(5)} ms   p99 ${s.p99.toFixed(0).padStart(5)} ms   max ${s.max.toFixed(0).padStart(5)} ms`,
      );
    };
    r.line(`${created.size} tasks at ${RATE}/s over ${AGENTS} agents (2 tasks each at most), ${WORK_MS} ms of work each:`);
    row('created -> Assigned', toAssigned);
    row('Assigned -> Running', assignedToRunning);
    row('created -> Running', toRunning);
    r.figure('created_to_running_p50_ms', summarize(toRunning).p50, 'ms', 'Task created -> Running p50');
    r.figure('created_to_running_p99_ms', summarize(toRunning).p99, 'ms', 'Task created -> Running p99');
    r.figure(
      'assigned_to_running_p99_ms',
      summarize(assignedToRunning).p99,
      'ms',
      'Assigned -> Running p99 (the runner learning of its task)',
    );
  } finally {
    stop.abort();
    await fleet.stop();
    await operator.stop();
    await deleteNamespace(client, namespace);
  }
});
