import { AGENT_LABEL, API_VERSION } from '../../operator/src/api/common.ts';
import { agentKind, taskKind } from '../../operator/src/api/kinds.ts';
import { Informer } from '../../operator/src/runtime/cache/informer.ts';
import { systemClock } from '../../operator/src/runtime/clock.ts';
import type { RestClient } from '../../operator/src/runtime/rest/client.ts';
import type { KubeObject } from '../../operator/src/runtime/rest/object.ts';
import { collectionPath, resourceOfKind } from '../../operator/src/runtime/rest/resource.ts';
import type { ExecutionResult, Executor, TaskInput } from '../../runner/executors/executor.ts';
import { Heartbeat } from '../../runner/heartbeat.ts';
import { recordOutcome } from '../../runner/outcomes.ts';
import { TaskRunner } from '../../runner/task-runner.ts';
import { testLogger } from './runtime.ts';

const Agents = resourceOfKind(agentKind);
const Tasks = resourceOfKind(taskKind);

export type Behaviour = (task: TaskInput, agent: string, signal: AbortSignal) => Promise<ExecutionResult>;

export const succeed: Behaviour = async (task) => ({ outcome: 'Succeeded', output: `done ${task.name}`, reason: 'exit code 0', exitCode: 0 });

export interface SimulatedAgent {
  name: string;
  /** Stops heartbeats and task work at once, without releasing anything: a crash. */
  kill(): void;
}

/**
 * Agents whose runners are simulated in this process: the real Heartbeat and TaskRunner
 * from runner/, with an executor the test scripts (no container). The Agents are real
 * (runtime kubernetes: their Pods run on kwok nodes), so the operator's agent controller
 * makes them Ready as the heartbeats arrive.
 */
export class Fleet {
  private readonly client: RestClient;
  private readonly namespace: string;
  private readonly stops: AbortController[] = [];
  /** Every execution: task name → agents that ran it, in order. */
  readonly executions = new Map<string, string[]>();

  constructor(client: RestClient, namespace: string) {
    this.client = client;
    this.namespace = namespace;
  }

  async agent(name: string, options: { capabilities?: string[]; maxConcurrentTasks?: number; behaviour?: Behaviour; desiredState?: 'Active' | 'Sleeping'; heartbeat?: { intervalSeconds: number; timeoutSeconds: number } } = {}): Promise<SimulatedAgent> {
    const heartbeat = options.heartbeat ?? { intervalSeconds: 2, timeoutSeconds: 6 };
    const created = await this.client.request<KubeObject>('POST', collectionPath(Agents, this.namespace), {
      body: {
        apiVersion: API_VERSION,
        kind: 'Agent',
        metadata: { name },
        spec: {
          capabilities: options.capabilities ?? ['work'],
          runtime: { type: 'kubernetes', image: 'agent-orchestrator/runner:dev' },
          maxConcurrentTasks: options.maxConcurrentTasks ?? 1,
          heartbeat,
          ...(options.desiredState ? { desiredState: options.desiredState } : {}),
        },
      },
    });
    const stop = new AbortController();
    this.stops.push(stop);
    const behaviour = options.behaviour ?? succeed;
    const executor: Executor = {
      name: 'command',
      execute: (task, signal) => {
        this.executions.set(task.name, [...(this.executions.get(task.name) ?? []), name]);
        return behaviour(task, name, signal);
      },
    };
    const tasks = new Informer<KubeObject>({ client: this.client, resource: Tasks, namespace: this.namespace, labelSelector: `${AGENT_LABEL}=${name}`, logger: testLogger() });
    const runner = new TaskRunner({
      client: this.client,
      tasks,
      agent: name,
      executor,
      capacity: () => options.maxConcurrentTasks ?? 1,
      onFinished: (result) => {
        void recordOutcome({ client: this.client, namespace: this.namespace, agent: name, windowTokens: undefined, clock: systemClock, logger: testLogger() }, result);
      },
      clock: systemClock,
      logger: testLogger(),
    });
    void tasks.run(stop.signal);
    const beat = (): void => {
      void new Heartbeat({
        client: this.client,
        namespace: this.namespace,
        agent: name,
        agentUid: created.metadata.uid ?? '',
        intervalMs: heartbeat.intervalSeconds * 1000,
        timeoutMs: heartbeat.timeoutSeconds * 1000,
        clock: systemClock,
        logger: testLogger(),
      }).run(stop.signal);
    };
    if (options.desiredState !== 'Sleeping') beat();
    void tasks.waitForSync().then(() => {
      runner.poke();
    });
    return {
      name,
      // A crash: no more heartbeats, no more task events, nothing released or written.
      kill: () => {
        stop.abort();
      },
    };
  }

  async task(name: string, spec: Record<string, unknown> = {}): Promise<KubeObject> {
    return this.client.request('POST', collectionPath(Tasks, this.namespace), {
      body: { apiVersion: API_VERSION, kind: 'Task', metadata: { name }, spec: { requiredCapabilities: ['work'], ...spec } },
    });
  }

  stop(): void {
    for (const s of this.stops.splice(0)) s.abort();
  }
}
