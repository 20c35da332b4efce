import type { Logger } from 'pino';
import { Informer } from '../../operator/src/runtime/cache/informer.ts';
import { systemClock } from '../../operator/src/runtime/clock.ts';
import type { RestClient } from '../../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../../operator/src/runtime/rest/object.ts';
import { resourceOfKind } from '../../operator/src/runtime/rest/resource.ts';
import type { CompactResult, ExecutionResult, TaskInput } from '../../runner/executors/executor.ts';
import { AssignedTasks } from '../../runner/assigned-tasks.ts';
import { Compactor } from '../../runner/compaction.ts';
import { agentKind } from '../../operator/src/api/kinds.ts';
import { Heartbeat, newRunnerIdentity } from '../../runner/heartbeat.ts';
import { recordOutcome } from '../../runner/outcomes.ts';
import { TaskRunner } from '../../runner/task-runner.ts';

const Agents = resourceOfKind(agentKind);

/** What a simulated agent does with a task, in place of running a command. */
export type Behaviour = (task: TaskInput, agent: string, signal: AbortSignal) => Promise<ExecutionResult>;

export const succeed: Behaviour = async (task) => ({
  outcome: 'Succeeded',
  output: `done ${task.name}`,
  reason: 'exit code 0',
  exitCode: 0,
});

/** Runs until the runner gives the task up (a task that keeps its agent busy). */
export const hang: Behaviour = (_task, _agent, signal) =>
  new Promise((resolve) => {
    signal.addEventListener('abort', () => {
      resolve({ outcome: 'Cancelled', output: '', reason: 'stopped' });
    });
  });

export interface SimulatedRunnerOptions {
  client: RestClient;
  namespace: string;
  agent: string;
  agentUid: string;
  /** No heartbeat when undefined (an agent created asleep). */
  heartbeat: { intervalMs: number; timeoutMs: number } | undefined;
  capacity: number;
  behaviour: Behaviour;
  /** Every execution is recorded here: task name → agents that ran it, in order. */
  executions: Map<string, string[]>;
  /** The agent's spec.context.windowTokens, to report usage against. */
  windowTokens?: number | undefined;
  /** How the agent compacts its context; without, it cannot (it is recycled). */
  compact?: ((signal: AbortSignal) => Promise<CompactResult>) | undefined;
  logger: Logger;
}

export interface SimulatedRunner {
  runner: TaskRunner;
  heartbeat: Heartbeat | undefined;
  /** Aborting it stops heartbeats and task events at once: a crash. */
  stop: AbortController;
}

/**
 * The runner of one agent without its container: the real Heartbeat and TaskRunner from
 * runner/, with an executor the test scripts.
 */
export function startSimulatedRunner(o: SimulatedRunnerOptions): SimulatedRunner {
  const stop = new AbortController();
  const tasks = new AssignedTasks({ client: o.client, namespace: o.namespace, agent: o.agent, logger: o.logger });
  // Without heartbeats (an agent created asleep) the Lease is never held: no work is taken.
  const heartbeat = new Heartbeat({
    client: o.client,
    namespace: o.namespace,
    agent: o.agent,
    agentUid: o.agentUid,
    identity: newRunnerIdentity(o.agent),
    ...(o.heartbeat ?? { intervalMs: 10_000, timeoutMs: 30_000 }),
    clock: systemClock,
    logger: o.logger,
  });
  const executor = {
    name: 'command' as const,
    execute: (task: TaskInput, signal: AbortSignal): Promise<ExecutionResult> => {
      o.executions.set(task.name, [...(o.executions.get(task.name) ?? []), o.agent]);
      return o.behaviour(task, o.agent, signal);
    },
    ...(o.compact ? { compact: o.compact } : {}),
  };
  // The runner's own compaction part, driven by its own Agent as runner/main.ts drives it.
  let recording = 0;
  const self = new Informer<KubeObject>({
    client: o.client,
    resource: Agents,
    namespace: o.namespace,
    fieldSelector: `metadata.name=${o.agent}`,
    logger: o.logger,
  });
  const compactor = new Compactor({
    client: o.client,
    namespace: o.namespace,
    agent: o.agent,
    executor,
    active: () => runner.active() + recording,
    workspaceDir: () => undefined,
    windowTokens: () => o.windowTokens,
    clock: systemClock,
    logger: o.logger,
  });
  compactor.follow(self);
  const runner = new TaskRunner({
    client: o.client,
    tasks,
    agent: o.agent,
    lease: heartbeat,
    executor,
    capacity: () => o.capacity,
    onFinished: (result, run) => {
      recording++;
      void recordOutcome(
        { client: o.client, namespace: o.namespace, agent: o.agent, windowTokens: o.windowTokens, clock: systemClock, logger: o.logger },
        result,
        run,
      ).finally(() => {
        recording--;
        compactor.onAgent(self.get(`${o.namespace}/${o.agent}`));
      });
    },
    clock: systemClock,
    logger: o.logger,
  });
  void tasks.run(stop.signal);
  void self.run(stop.signal);
  if (o.heartbeat) {
    // A runner whose Lease was taken stops, as runner/main.ts does.
    heartbeat.run(stop.signal).catch(() => {
      runner.abandon();
      stop.abort();
    });
  }
  void Promise.all([tasks.waitForSync(stop.signal), self.waitForSync(stop.signal), heartbeat.acquired()]).then(async () => {
    // As runner/main.ts: a runner that starts in a recycle reports its fresh context first.
    const live = self.get(`${o.namespace}/${o.agent}`);
    if (live) await compactor.resume(live).catch(() => undefined);
    runner.poke();
  });
  return { runner, heartbeat: o.heartbeat ? heartbeat : undefined, stop };
}
